// Package deploy_test keeps the deployment files from rotting: it parses
// them, checks their wiring, and loads every ClickVault config they mount
// with the environment they set. (`docker compose config` and `docker build`
// check them too where Docker exists; this machine has none.)
package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/clickvault/clickvault/sidecar/config"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func envOf(m map[string]string) func() []string {
	return func() []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}
}

func TestComposeWiring(t *testing.T) {
	var c composeFile
	if err := yaml.Unmarshal(read(t, "../docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"clickhouse", "minio", "minio-init", "clickvault"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %s", name)
		}
	}
	cv := c.Services["clickvault"]
	if cv.Build["dockerfile"] != "deploy/Dockerfile" || cv.Build["context"] != "." {
		t.Fatalf("clickvault is not built from deploy/Dockerfile: %v", cv.Build)
	}
	if !slices.Contains(cv.Ports, "7480:7480") || !slices.Contains(cv.Healthcheck.Test, "health") {
		t.Fatalf("clickvault ports %v, healthcheck %v", cv.Ports, cv.Healthcheck.Test)
	}
	if cv.DependsOn["clickhouse"].Condition != "service_healthy" || cv.DependsOn["minio-init"].Condition != "service_completed_successfully" {
		t.Fatalf("clickvault starts before its dependencies: %+v", cv.DependsOn)
	}
	for _, name := range []string{"clickhouse", "minio"} {
		if len(c.Services[name].Healthcheck.Test) == 0 {
			t.Fatalf("%s has no health check", name)
		}
	}
	cfg := composeConfig(t, cv.Volumes, cv.Environment)
	if cfg.ClickHouse.Addr != "clickhouse:9000" || cfg.S3.Endpoint != "http://minio:9000" || cfg.Sidecar.Listen != "0.0.0.0:7480" {
		t.Fatalf("the sidecar's config does not point at the services: %+v", cfg)
	}
	if !strings.Contains(strings.Join(c.Services["minio-init"].Command, " "), "local/"+cfg.S3.Bucket) {
		t.Fatalf("minio-init does not create bucket %s", cfg.S3.Bucket)
	}
	minio := c.Services["minio"].Environment
	if cv.Environment["CLICKVAULT_S3_ACCESS_KEY"] != minio["MINIO_ROOT_USER"] || cv.Environment["CLICKVAULT_S3_SECRET_KEY"] != minio["MINIO_ROOT_PASSWORD"] {
		t.Fatal("the sidecar's S3 credentials are not MinIO's")
	}
	grants := string(read(t, "grants.sql"))
	if !strings.Contains(grants, "CREATE USER IF NOT EXISTS "+cfg.ClickHouse.User+" IDENTIFIED WITH sha256_password BY '"+
		cv.Environment["CLICKVAULT_CLICKHOUSE_PASSWORD"]+"'") {
		t.Fatalf("grants.sql does not create user %s with the compose password", cfg.ClickHouse.User)
	}
	if !slices.Contains(c.Services["clickhouse"].Volumes, "./deploy/grants.sql:/docker-entrypoint-initdb.d/10-grants.sql:ro") {
		t.Fatal("clickhouse does not run grants.sql at first start")
	}
}

// composeConfig loads the config file the service mounts at
// /etc/clickvault/config.toml, with the service's environment.
func composeConfig(t *testing.T, volumes []string, env map[string]string) config.Config {
	t.Helper()
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == "/etc/clickvault/config.toml" {
			cfg, err := config.Load(filepath.Join("..", parts[0]), false, envOf(env))
			if err != nil {
				t.Fatalf("the mounted config %s does not load: %v", parts[0], err)
			}
			return cfg
		}
	}
	t.Fatal("no config mounted at /etc/clickvault/config.toml")
	return config.Config{}
}

func TestGrantsSeparateRequesters(t *testing.T) {
	g := string(read(t, "grants.sql"))
	for _, want := range []string{"GRANT INSERT ON clickvault.requests TO clickvault_requester",
		"GRANT SELECT ON clickvault.request_status TO clickvault_requester",
		"REVOKE SELECT ON clickvault.* FROM clickvault_requester", "GRANT SHOW USERS, SHOW ROLES ON *.* TO clickvault",
		"GRANT BACKUP ON shop.* TO clickvault"} {
		if !strings.Contains(g, want) {
			t.Errorf("grants.sql lacks %q", want)
		}
	}
}

func TestDockerfile(t *testing.T) {
	d := string(read(t, "Dockerfile"))
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(d, -1)
	if len(froms) != 2 {
		t.Fatalf("want a two-stage build, got %d stages", len(froms))
	}
	if final := froms[1][1]; !strings.Contains(final, "distroless/static") || !strings.HasSuffix(final, ":nonroot") {
		t.Fatalf("the final stage %s is not a shell-less non-root image", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER nonroot", `ENTRYPOINT ["/usr/local/bin/clickvault"]`, `CMD ["/usr/local/bin/clickvault", "health"]`} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}

func TestKubernetesSidecar(t *testing.T) {
	dec := yaml.NewDecoder(bytes.NewReader(read(t, "kubernetes/clickhouse-with-clickvault.yaml")))
	docs := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		docs[fmt.Sprint(doc["kind"])] = doc
	}
	secret := docs["Secret"]["stringData"].(map[string]any)
	env := map[string]string{}
	for k, v := range secret {
		env[k] = fmt.Sprint(v)
	}
	toml := docs["ConfigMap"]["data"].(map[string]any)["config.toml"].(string)
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, false, envOf(env)); err != nil {
		t.Fatalf("the ConfigMap's config does not load: %v", err)
	}
	spec := docs["StatefulSet"]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	var sidecar map[string]any
	for _, c := range spec["containers"].([]any) {
		if c.(map[string]any)["name"] == "clickvault" {
			sidecar = c.(map[string]any)
		}
	}
	if sidecar == nil {
		t.Fatal("no clickvault container in the ClickHouse pod")
	}
	liveness, _ := sidecar["livenessProbe"].(map[string]any)
	if path := fmt.Sprint(liveness["httpGet"].(map[string]any)["path"]); path != "/healthz" {
		t.Fatalf("liveness probe %s, want /healthz", path)
	}
	// A readiness probe on the sidecar would gate ClickHouse's own traffic:
	// a pod is ready only when all its containers are.
	if _, ok := sidecar["readinessProbe"]; ok {
		t.Fatal("the clickvault container has a readinessProbe: its /readyz would take ClickHouse out of its Service")
	}
}

func TestSystemdUnits(t *testing.T) {
	for _, timer := range []string{"clickvault-backup", "clickvault-cleanup"} {
		tm := string(read(t, "systemd/"+timer+".timer"))
		svc := string(read(t, "systemd/"+timer+".service"))
		if !strings.Contains(tm, "Unit="+timer+".service") || !strings.Contains(tm, "OnCalendar=") {
			t.Errorf("%s.timer does not start its service on a calendar", timer)
		}
		cmd := strings.TrimPrefix(timer, "clickvault-")
		if !strings.Contains(svc, "ExecStart=/usr/local/bin/clickvault -c /etc/clickvault/config.toml "+cmd) || !strings.Contains(svc, "Type=oneshot") {
			t.Errorf("%s.service does not run `clickvault %s` once", timer, cmd)
		}
	}
}
