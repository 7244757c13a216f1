package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/frontend"
)

func TestFrontendLimits(t *testing.T) {
	tests := []struct {
		name    string
		scale   float64
		proxies []string
		reads   frontend.Rate
		trusted []string
		err     string
	}{
		{name: "defaults", scale: 1},
		{name: "scaled", scale: 100, reads: frontend.Rate{PerSecond: 2000, Burst: 6000}},
		{name: "proxies", scale: 1, proxies: []string{"10.0.0.0/8", "192.0.2.7", "fd00::1/8", "::ffff:192.0.2.8"},
			trusted: []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "192.0.2.8/32"}},
		{name: "zero scale", scale: 0, err: "--limit-scale 0"},
		{name: "negative scale", scale: -2, err: "--limit-scale -2"},
		{name: "bad proxy", scale: 1, proxies: []string{"10.0.0.0/40"}, err: `--trusted-proxies "10.0.0.0/40"`},
		{name: "not an address", scale: 1, proxies: []string{"proxy.local"}, err: `--trusted-proxies "proxy.local"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := frontendLimits(tt.scale, tt.proxies)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Reads != tt.reads {
				t.Errorf("reads %+v, want %+v", l.Reads, tt.reads)
			}
			var trusted []string
			for _, p := range l.TrustedProxies {
				trusted = append(trusted, p.String())
			}
			if !slices.Equal(trusted, tt.trusted) {
				t.Errorf("trusted proxies %v, want %v", trusted, tt.trusted)
			}
		})
	}
}
