package client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
)

// BenchmarkHostApp measures a trivial host application alone (bare) and
// behind the middleware checking every request against a real Doorman on
// the same machine (middleware), in one run so that the two compare.
func BenchmarkHostApp(b *testing.B) {
	e := startDoorman(b, doormanhttp.Config{})
	token, _ := e.signIn(b, "", "")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c, err := client.New(e.srv.URL, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", app}, {"middleware", c.Middleware(app)}} {
		b.Run(bc.name, func(b *testing.B) {
			host := httptest.NewServer(bc.h)
			defer host.Close()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer hc.CloseIdleConnections()
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", host.URL+"/reports", nil)
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
