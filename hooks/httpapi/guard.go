package httpapi

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// refuseCrossSite answers 403 to a request a browser sent on behalf of
// another site. Browsers attach cached credentials (the status page's
// Basic password) to such requests, so without this any page an operator
// visits could act with the operator's token. A browser says where a
// request comes from in Sec-Fetch-Site and, on writes, in Origin; a client
// that is not a browser (curl, a script, Prometheus) sends neither and is
// let through. The check covers every route, reads too: no route of this
// server is meant to be used from another site.
func refuseCrossSite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch site := r.Header.Get("Sec-Fetch-Site"); site {
		case "", "same-origin", "none": // none: the user typed the address or used a bookmark
		default:
			return echo.NewHTTPError(http.StatusForbidden, "cross-site requests are refused (Sec-Fetch-Site: "+shorten(site)+")")
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			return echo.NewHTTPError(http.StatusForbidden, "cross-site requests are refused (Origin: "+shorten(origin)+")")
		}
		return next(c)
	}
}

// sameOrigin reports whether origin (scheme://host[:port], or "null") names
// the host the request was sent to. The scheme is not compared: behind a
// TLS-terminating proxy the page is https while this server sees http, and
// no other site can serve from the same host and port.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// requireJSON lets a write through only with Content-Type application/json
// (415 otherwise). A page on another site can send a form or text/plain
// without asking the browser first; application/json needs a CORS
// preflight, which this server never grants.
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ct := c.Request().Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType,
				"the body must be JSON sent with Content-Type: application/json (got "+quoteType(ct)+")")
		}
		return next(c)
	}
}

// quoteType names a Content-Type in an answer: a short prefix, or "none".
func quoteType(ct string) string {
	if ct == "" {
		return "none"
	}
	return shorten(ct)
}
