package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/clickvault/clickvault/sidecar"
)

type backupBody struct {
	Database string `json:"database"`
	Kind     string `json:"kind"`
}

type restoreBody struct {
	Database string     `json:"database"`
	Backup   string     `json:"backup"`
	AsOf     *time.Time `json:"as_of"`
	Target   string     `json:"target"`
}

type cleanupBody struct {
	Database string `json:"database"`
	DryRun   bool   `json:"dry_run"`
}

// decode reads a JSON body strictly: an unknown field is an error naming it.
func decode(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "read the JSON body: "+err.Error())
	}
	return nil
}

// queue inserts the request into the requests table; the sidecar admits
// and runs it like any SQL user's.
func (s *Server) queue(c echo.Context, r sidecar.Request) error {
	id, err := s.cp.InsertRequest(c.Request().Context(), r)
	if err != nil {
		return fmt.Errorf("queue the request: %w", err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "/v1/requests/" + id})
}

func (s *Server) postBackup(c echo.Context) error {
	var b backupBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, sidecar.Request{Action: sidecar.ActionBackup, Database: b.Database, Kind: b.Kind})
}

func (s *Server) postRestore(c echo.Context) error {
	var b restoreBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, sidecar.Request{Action: sidecar.ActionRestore, Database: b.Database, Backup: b.Backup, AsOf: b.AsOf, Target: b.Target})
}

func (s *Server) postCleanup(c echo.Context) error {
	var b cleanupBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, sidecar.Request{Action: sidecar.ActionCleanup, Database: b.Database, DryRun: b.DryRun})
}

func (s *Server) getRequest(c echo.Context) error {
	st, err := s.cp.Status(c.Request().Context(), c.Param("id"))
	if errors.Is(err, sidecar.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no request %q", c.Param("id")))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) listBackups(c echo.Context) error {
	db := c.QueryParam("database")
	if db == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "the database query parameter is required")
	}
	if err := sidecar.ValidateIdentifier("database", db); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	rows, err := s.cp.CatalogRows(c.Request().Context(), db)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []sidecar.CatalogRow{} // [] rather than null for a database without backups
	}
	return c.JSON(http.StatusOK, rows)
}
