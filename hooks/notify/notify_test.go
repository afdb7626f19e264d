package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/hooks/notify"
	"github.com/clickvault/clickvault/sidecar"
)

type receiver struct {
	mu     sync.Mutex
	bodies []string
	codes  []int // answered in turn; then 200
	header http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(body))
	r.header = req.Header.Clone()
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	w.WriteHeader(code)
}

var failed = sidecar.Event{Event: "backup_failed", Database: "shop", Backup: "20261124T120000000Z", Kind: "full",
	Error: "minio unreachable", RequestID: "r1", RequestedBy: "alice"}

func TestWebhookAndSlackBodies(t *testing.T) {
	hook, slack := &receiver{}, &receiver{}
	hs, ss := httptest.NewServer(hook), httptest.NewServer(slack)
	defer hs.Close()
	defer ss.Close()
	d := notify.New([]notify.Target{
		{Name: "webhook #1", URL: hs.URL, Headers: map[string]string{"Authorization": "Bearer t"}},
		{Name: "slack", URL: ss.URL, Slack: true},
	}, true, true)
	if err := d.Notify(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	var got sidecar.Event
	if err := json.Unmarshal([]byte(hook.bodies[0]), &got); err != nil || got != failed {
		t.Fatalf("webhook body %s (%v)", hook.bodies[0], err)
	}
	if hook.header.Get("Authorization") != "Bearer t" {
		t.Fatal("webhook header not sent")
	}
	var msg map[string]string
	_ = json.Unmarshal([]byte(slack.bodies[0]), &msg)
	if !strings.Contains(msg["text"], "backup failed") || !strings.Contains(msg["text"], "minio unreachable") {
		t.Fatalf("slack text %q", msg["text"])
	}
}

func TestRetriesOnRetryableStatusOnly(t *testing.T) {
	retried := &receiver{codes: []int{503, 429, 200}}
	refused := &receiver{codes: []int{400}}
	rs, fs := httptest.NewServer(retried), httptest.NewServer(refused)
	defer rs.Close()
	defer fs.Close()
	d := notify.New([]notify.Target{{Name: "a", URL: rs.URL}, {Name: "b", URL: fs.URL}}, true, true)
	d.SetRetry(3, time.Millisecond)
	err := d.Notify(context.Background(), failed)
	if len(retried.bodies) != 3 || len(refused.bodies) != 1 {
		t.Fatalf("attempts: %d and %d, want 3 and 1", len(retried.bodies), len(refused.bodies))
	}
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("want the 400 reported, got %v", err)
	}
}

func TestFilterAndNoURLInErrors(t *testing.T) {
	hook := &receiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	d := notify.New([]notify.Target{{Name: "webhook #1", URL: hs.URL}}, false, true)
	ok := failed
	ok.Event, ok.Error = "backup_completed", ""
	if err := d.Notify(context.Background(), ok); err != nil || len(hook.bodies) != 0 {
		t.Fatalf("on_success = false still sent: %v", err)
	}
	secretURL := "http://127.0.0.1:1/services/T0/B0/secret-token"
	d = notify.New([]notify.Target{{Name: "slack", URL: secretURL, Slack: true}}, true, true)
	d.SetRetry(2, time.Millisecond)
	err := d.Notify(context.Background(), failed)
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("want an error without the URL, got %v", err)
	}
}

// TestSlackSaysWhatIsStored: a backup's message gives what it added to the
// bucket, with its logical size beside it under its own name.
func TestSlackSaysWhatIsStored(t *testing.T) {
	e := sidecar.Event{Event: "backup_completed", Database: "shop", Backup: "b1", Kind: "incremental",
		Size: 40468, StoredBytes: 40468, LogicalBytes: 471516}
	text := notify.SlackText(e)
	if !strings.Contains(text, "39.5 KiB stored (460.5 KiB logical)") {
		t.Fatalf("slack text %q", text)
	}
}
