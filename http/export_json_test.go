package http

import (
	"encoding/json"
	"time"
)

// TimeJSONBothWays encodes t with appendTime and with encoding/json.
func TimeJSONBothWays(t time.Time) (fast, std []byte) {
	std, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	return appendTime(nil, t), std
}
