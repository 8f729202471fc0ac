// Command hostapp is a trivial host application for measuring Doorman's Go
// middleware as users run it: its own process, Doorman in another. With
// -doorman it checks every request through client.Middleware (default
// options; -disable-reuse asks Doorman for every request, -disable-batching
// sends one GET /auth/verify per check);
// without, it answers every request as it is (the baseline).
// scripts/bench-middleware.sh runs both under wrk.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"

	"github.com/doorman/doorman/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18470", "address to listen on")
	doorman := flag.String("doorman", "", "Doorman's base URL; empty: no middleware")
	perRequest := flag.Bool("disable-batching", false, "one GET /auth/verify per check (client.Options.DisableBatching)")
	maxBatches := flag.Int("max-batches", 0, "batches in flight at most (client.Options.MaxBatchesInFlight; 0: the default)")
	noReuse := flag.Bool("disable-reuse", false, "ask Doorman for every request (client.Options.DisableReuse)")
	flag.Parse()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	if *doorman != "" {
		c, err := client.New(*doorman, client.Options{DisableBatching: *perRequest, MaxBatchesInFlight: *maxBatches,
			DisableReuse: *noReuse})
		if err != nil {
			log.Fatal(err)
		}
		h = c.Middleware(h)
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}
