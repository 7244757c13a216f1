package backend_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend"
)

// Bad settings are refused before anything starts, naming the flag.
func TestConfigValidate(t *testing.T) {
	good := func() backend.Config {
		return backend.Config{
			ID: "b1", DataDir: "data/b1",
			RaftAddr: "127.0.0.1:7001", SerfAddr: "127.0.0.1:7101", GRPCAddr: "127.0.0.1:7201", HTTPAddr: "127.0.0.1:7301",
			Join: []string{"backend2:7946"}, BootstrapExpect: 3, Insecure: true,
		}
	}
	tests := []struct {
		name   string
		change func(*backend.Config)
		want   string // "" when valid
	}{
		{"valid", func(*backend.Config) {}, ""},
		{"default timeout scale", func(c *backend.Config) { c.TimeoutScale = 0 }, ""},
		{"smallest timeout scale", func(c *backend.Config) { c.TimeoutScale = 0.05 }, ""},
		{"serf on any port", func(c *backend.Config) { c.SerfAddr = "0.0.0.0:0" }, ""},
		{"no id", func(c *backend.Config) { c.ID = "" }, "--id"},
		{"no data dir", func(c *backend.Config) { c.DataDir = "" }, "--data-dir"},
		{"raft address without port", func(c *backend.Config) { c.RaftAddr = "127.0.0.1" }, "--raft-addr"},
		{"serf address a host name", func(c *backend.Config) { c.SerfAddr = "backend1:7946" }, "--serf-addr"},
		{"join without host", func(c *backend.Config) { c.Join = []string{":7946"} }, "--join"},
		{"join with port 0", func(c *backend.Config) { c.Join = []string{"backend2:0"} }, "--join"},
		{"negative bootstrap-expect", func(c *backend.Config) { c.BootstrapExpect = -1 }, "--bootstrap-expect"},
		{"timeout scale too small", func(c *backend.Config) { c.TimeoutScale = 0.01 }, "--raft-timeout-scale"},
		{"timeout scale too large", func(c *backend.Config) { c.TimeoutScale = 200 }, "--raft-timeout-scale"},
		{"timeout scale NaN", func(c *backend.Config) { c.TimeoutScale = math.NaN() }, "--raft-timeout-scale"},
		{"negative timeout scale", func(c *backend.Config) { c.TimeoutScale = -1 }, "--raft-timeout-scale"},
		{"neither TLS nor insecure", func(c *backend.Config) { c.Insecure = false }, "--tls-ca"},
		{"gossip key without TLS", func(c *backend.Config) { c.Insecure, c.GossipKey = false, make([]byte, 32) }, "--tls-cert"},
		{"insecure with a gossip key", func(c *backend.Config) { c.GossipKey = make([]byte, 32) }, "--insecure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
