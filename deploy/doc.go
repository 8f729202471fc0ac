// Package deploy holds configurations of reverse proxies in front of
// Doorman and the apps it signs people in to: nginx, Caddy and Traefik (see
// README.md). Its tests run nginx and Caddy with them against a real Doorman.
package deploy
