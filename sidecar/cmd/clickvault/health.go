package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthCommand checks a running sidecar over HTTP, for container health
// checks in images without a shell or curl.
func healthCommand(stdout io.Writer) *cobra.Command {
	var url string
	cmd := &cobra.Command{Use: "health", Short: "Exit 0 if a running sidecar answers its readiness check"}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:7480/readyz", "the sidecar's /readyz or /healthz")
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		ctx, cancel := context.WithTimeout(c.Context(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return &usageError{fmt.Errorf("--url: %w", err)}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("check %s: %w", url, err)
		}
		// Only read: closing the body cannot lose anything worth an error.
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("check %s: %s: %s", url, resp.Status, body)
		}
		_, err = fmt.Fprintf(stdout, "%s", body)
		return err
	}
	return cmd
}
