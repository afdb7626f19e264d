// Package httpapi serves ClickVault's HTTP hooks with echo: requests go
// into the same requests table as SQL users' (and through the same rules),
// status and catalog come from the control tables, plus health, readiness
// and Prometheus metrics.
package httpapi

import (
	"context"
	"crypto/subtle"
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
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar"
)

// Server is the HTTP hooks of one sidecar.
type Server struct {
	echo   *echo.Echo
	cp     sidecar.ControlPlane
	tokens [][]byte
	ready  func(context.Context) error
	logger *slog.Logger
}

// New builds the server; it starts nothing. ready reports whether
// ClickHouse and S3 can be reached.
func New(cp sidecar.ControlPlane, tokens []string, ready func(context.Context) error, gatherer prometheus.Gatherer, logger *slog.Logger) *Server {
	s := &Server{echo: echo.New(), cp: cp, ready: ready, logger: logger}
	for _, t := range tokens {
		s.tokens = append(s.tokens, []byte(t))
	}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	e.GET("/v1/requests/:id", s.getRequest)
	e.GET("/v1/backups", s.listBackups)
	writes := e.Group("/v1", s.requireToken)
	writes.POST("/backups", s.postBackup)
	writes.POST("/restores", s.postRestore)
	writes.POST("/cleanup", s.postCleanup)
	return s
}

// Serve serves on ln until ctx ends, then shuts down gracefully, letting
// requests in flight finish for up to 10 s.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.echo.Listener = ln
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

// requireToken lets a write through only with a configured bearer token.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(s.tokens) == 0 {
			return echo.NewHTTPError(http.StatusForbidden, "writes are disabled: no sidecar.auth_tokens are configured")
		}
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "a bearer token is required")
		}
		for _, t := range s.tokens {
			if subtle.ConstantTimeCompare([]byte(got), t) == 1 {
				return next(c)
			}
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "the bearer token is not accepted")
	}
}

// errorHandler answers every error as JSON {"error": "…"}.
func (s *Server) errorHandler(err error, c echo.Context) {
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, msg = he.Code, fmt.Sprint(he.Message)
	} else {
		s.logger.Error("http request failed", "path", c.Path(), "err", err)
		msg = err.Error()
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
