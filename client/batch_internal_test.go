package client

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The reader of batch answers reads what encoding/json reads; what it
// does not read, it leaves to encoding/json.
func FuzzBatchResults(f *testing.F) {
	for _, s := range []string{
		`{"results":[{"status":200,"headers":{"X-Doorman-User-Id":"usr_1","X-Doorman-User-Email":"ana@acme.test",` +
			`"X-Doorman-User-Role":"admin","X-Doorman-Account-Id":"acc_1","X-Doorman-Session-Id":"sess_1",` +
			`"X-Doorman-Assertion":"a.b.c"}},{"status":401,"error":{"code":"unauthorized","message":"Not signed in",` +
			`"reason":"idle","request_id":"r"}},{"status":503,"error":{"code":"unavailable","message":"m","request_id":"r"}}]}` + "\n",
		` { "results" : [ { "error" : { "reason" : "signed_out" } , "status" : 401 } ] } `,
		`{"results":[{"status":200,"status":401}]}`, `{"results":[{"status":401,"error":{"reason":"caf\u00e9"}}]}`,
		`{"results":[]}`, `{"results":null}`, `{"results":[{"status":2000}]}`, `{"results":[{"status":-1}]}`,
		`{"results":[{"status":200}],"other":1}`, `{"results":[{"status":200,"headers":{"X-Other":"x"}}]}`,
		`{"results":[{"status":200}]}x`, `{"results":[{"status":200},]}`, `{"results":[{"status":1e2}]}`, `[]`, `{}`,
		`{"results":[{"status":00}]}`, `{"results":[{"status":0}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := resultReader{b: b, assertions: true}
		fast, ok := r.answer(4)
		if !ok {
			return // left to encoding/json
		}
		var std struct {
			Results []batchResult `json:"results"`
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("%q: read %+v, but encoding/json says %v", b, fast, err)
		}
		if !reflect.DeepEqual(fast, std.Results) && !(len(fast) == 0 && len(std.Results) == 0) {
			t.Fatalf("%q: read %+v, encoding/json %+v", b, fast, std.Results)
		}
	})
}
