// Package httpapi serves ClickVault's HTTP hooks with echo: requests go
// into the same requests table as SQL users' (and through the same rules),
// status and catalog come from the control tables, plus health, readiness
// and Prometheus metrics.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/control"
)

// Server is the HTTP hooks of one sidecar.
type Server struct {
	echo      *echo.Echo
	cp        control.ControlPlane
	tokens    []token
	databases []string // what a token may see; nil: any
	rpo       map[string]time.Duration
	sets      SetLister // a cluster node's sets; nil on a single server
	copies    []string  // the [[copy]] targets
	ready     func(context.Context) error
	logger    *slog.Logger
}

// SetLister lists a database's newest sets, newest first (a cluster
// node's catalog of sets).
type SetLister func(ctx context.Context, database string, limit int) ([]control.SetSummary, error)

// Access is what a token may do.
type Access int

const (
	ReadOnly Access = iota // GET /v1/…
	Write                  // queue requests, and read
)

type token struct {
	secret []byte
	name   string
	access Access
}

// TokenName is how a token appears in requests, logs and notifications:
// "http:" and the first 8 hex digits of its SHA-256, never the token.
func TokenName(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "http:" + hex.EncodeToString(sum[:4])
}

// Options are the server's tokens and what they may see.
type Options struct {
	WriteTokens, ReadTokens []string
	// Databases limits every answer to these databases (the ones the
	// sidecar backs up); nil allows any. The status page shows these.
	Databases []string
	// RPO is each database's recovery point objective, for the status page.
	RPO map[string]time.Duration
	// Sets, on a cluster node, lists the sets (GET /v1/sets, and the
	// status page); nil on a single server.
	Sets SetLister
	// CopyTargets are the [[copy]] targets' names: the status page says
	// which of them hold the newest backup.
	CopyTargets []string
}

// New builds the server; it starts nothing. ready reports whether
// ClickHouse and S3 can be reached.
func New(cp control.ControlPlane, opts Options, ready func(context.Context) error, gatherer prometheus.Gatherer, logger *slog.Logger) *Server {
	s := &Server{echo: echo.New(), cp: cp, databases: opts.Databases, rpo: opts.RPO, sets: opts.Sets, copies: opts.CopyTargets, ready: ready, logger: logger}
	for _, t := range opts.WriteTokens {
		s.tokens = append(s.tokens, token{secret: []byte(t), name: TokenName(t), access: Write})
	}
	for _, t := range opts.ReadTokens {
		s.tokens = append(s.tokens, token{secret: []byte(t), name: TokenName(t), access: ReadOnly})
	}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	// At a thousand databases one scrape is some 50,000 lines and 28 MB
	// of allocation: scrapes at once beyond metricsScrapesAtOnce are
	// answered 503, not served side by side without bound.
	// A client that asks and does not read holds its scrape's place until
	// the write's deadline, not the server's minute: two of them, opened
	// again and again, kept Prometheus out.
	e.GET("/metrics", echo.WrapHandler(writeWithin(metricsWriteWithin,
		promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{MaxRequestsInFlight: metricsScrapesAtOnce}))))
	// Every route, the 404s and 405s too: no route is for other sites.
	e.Use(refuseCrossSite)
	// Middleware per route, not on a group: echo's group middleware adds a
	// catch-all route, which would answer a wrong method with 401, not 405.
	// Basic credentials only on the status page: a browser that has them
	// sends them to every path of the server on its own.
	page, read, write := s.requireToken(ReadOnly, true), s.requireToken(ReadOnly, false), s.requireToken(Write, false)
	e.GET("/", s.status, page)
	e.GET("/v1/requests/:id", s.getRequest, read)
	e.GET("/v1/backups", s.listBackups, read)
	e.GET("/v1/sets", s.listSets, read)
	e.POST("/v1/backups", s.postBackup, write, requireJSON)
	e.POST("/v1/restores", s.postRestore, write, requireJSON)
	e.POST("/v1/cleanup", s.postCleanup, write, requireJSON)
	e.POST("/v1/checks", s.postCheck, write, requireJSON)
	return s
}

// Limits of the HTTP server: a client that sends its headers slowly, or
// holds connections open, is dropped instead of holding the sidecar.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = time.Minute
	idleTimeout       = time.Minute
	maxHeaderBytes    = 16 << 10
	maxConnections    = 256
	// metricsScrapesAtOnce: Prometheus scrapes one at a time; two lets a
	// second scraper (or a person's curl) in beside it.
	metricsScrapesAtOnce = 2
)

// metricsWriteWithin is how long a scrape's answer may take to write:
// Prometheus's own scrape timeout (a variable: the tests shorten it).
var metricsWriteWithin = 10 * time.Second

// writeWithin gives h's answers a write deadline of d from their start.
func writeWithin(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d)) // no deadline where the writer has none: as before
		h.ServeHTTP(w, r)
	})
}

// Serve serves on ln until ctx ends, then shuts down gracefully, letting
// requests in flight finish for up to 10 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.echo.Listener = netutil.LimitListener(ln, maxConnections)
	srv := s.echo.Server
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = readHeaderTimeout, readTimeout, writeTimeout, idleTimeout
	srv.MaxHeaderBytes = maxHeaderBytes
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.echo.Start(""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.echo.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shut down http: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// tokenKey is where requireToken leaves the caller's token name.
const tokenKey = "clickvault_token"

// requireToken lets a request through only with a configured token that
// allows need: a bearer token, or with basicToo the password of HTTP Basic
// authentication (how a browser sends it for the status page; the user
// name is ignored).
func (s *Server) requireToken(need Access, basicToo bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if len(s.tokens) == 0 {
				return echo.NewHTTPError(http.StatusForbidden, "the HTTP hooks are disabled: no sidecar.auth_tokens or read_tokens are configured")
			}
			got, err := presentedToken(c.Request(), basicToo)
			if err != nil {
				return err
			}
			if got == "" {
				challenge := `Bearer realm="ClickVault"`
				if basicToo { // a browser asks for the token as a password (any user name)
					challenge = `Basic realm="ClickVault", charset="UTF-8"`
				}
				c.Response().Header().Set("WWW-Authenticate", challenge)
				return echo.NewHTTPError(http.StatusUnauthorized, "a bearer token is required")
			}
			for _, t := range s.tokens {
				if subtle.ConstantTimeCompare([]byte(got), t.secret) != 1 {
					continue
				}
				if t.access < need {
					return echo.NewHTTPError(http.StatusForbidden, "this token may only read")
				}
				c.Set(tokenKey, t.name)
				return next(c)
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "the bearer token is not accepted")
		}
	}
}

// presentedToken is the request's bearer token, or with basicToo the
// password of its Basic credentials; "" if it has none. Basic credentials
// where they are not accepted are refused, not ignored, so a caller learns
// why.
func presentedToken(r *http.Request, basicToo bool) (string, error) {
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return got, nil
	}
	_, password, ok := r.BasicAuth()
	switch {
	case !ok:
		return "", nil
	case !basicToo:
		return "", echo.NewHTTPError(http.StatusUnauthorized,
			"Basic credentials are accepted only on GET / (the status page); send Authorization: Bearer <token>")
	}
	return password, nil
}

// errorHandler answers every error as JSON {"error": "…"}. An unexpected
// error is logged whole and answered without its text, which may carry
// ClickHouse's internals.
func (s *Server) errorHandler(err error, c echo.Context) {
	code, msg := http.StatusInternalServerError, "internal error; the sidecar's log has the details"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, msg = he.Code, fmt.Sprint(he.Message)
	} else {
		s.logger.Error("http request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	if !c.Response().Committed {
		_ = c.JSON(code, map[string]string{"error": msg})
	}
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
