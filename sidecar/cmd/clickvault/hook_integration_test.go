package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clickvault/clickvault/sidecar"
)

// hookReceiver is a fake webhook receiver recording the events it got.
type hookReceiver struct {
	mu       sync.Mutex
	url      string
	events   []sidecar.Event
	delay    time.Duration  // before answering each notification
	answered map[string]int // notifications answered, by event name
}

// slowDown makes every later notification take d to be answered.
func (r *hookReceiver) slowDown(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{answered: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e sidecar.Event
		if err := json.Unmarshal(body, &e); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, e)
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		r.mu.Lock()
		r.answered[e.Event]++
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// answeredCount counts the notifications of this event answered so far.
func (r *hookReceiver) answeredCount(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered[name]
}

// received returns the events with this name.
func (r *hookReceiver) received(name string) []sidecar.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sidecar.Event
	for _, e := range r.events {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

func getInput(bucket, key string) *s3.GetObjectInput {
	return &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}

func execCombined(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func exitCodeOf(err error) int {
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
