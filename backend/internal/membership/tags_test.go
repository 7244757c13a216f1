package membership

import (
	"errors"
	"testing"
)

var validTags = Tags{
	ID:       "node1",
	RaftAddr: "10.0.0.1:7000",
	GRPCAddr: "10.0.0.1:7001",
	HTTPAddr: "10.0.0.1:7002",
	Expect:   3,
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]string)
		want Tags
		err  error
	}{
		{name: "valid", want: validTags},
		{
			name: "hostnames and IPv6",
			edit: func(m map[string]string) {
				m[tagRaftAddr] = "backend-1:7000"
				m[tagGRPCAddr] = "[::1]:7001"
			},
			want: Tags{ID: "node1", RaftAddr: "backend-1:7000", GRPCAddr: "[::1]:7001", HTTPAddr: "10.0.0.1:7002", Expect: 3},
		},
		{
			name: "bootstrapped, expect 0",
			edit: func(m map[string]string) { m[tagBootstrapped] = "true"; m[tagExpect] = "0" },
			want: Tags{ID: "node1", RaftAddr: "10.0.0.1:7000", GRPCAddr: "10.0.0.1:7001", HTTPAddr: "10.0.0.1:7002", Bootstrapped: true},
		},
		{name: "foreign tags are kept out", edit: func(m map[string]string) { m["dc"] = "x" }, want: validTags},
		{name: "no role", edit: func(m map[string]string) { delete(m, tagRole) }, err: ErrNotBackend},
		{name: "foreign role", edit: func(m map[string]string) { m[tagRole] = "consul" }, err: ErrNotBackend},
		{name: "empty id", edit: func(m map[string]string) { m[tagID] = "" }, err: ErrInvalidTags},
		{name: "missing raft address", edit: func(m map[string]string) { delete(m, tagRaftAddr) }, err: ErrInvalidTags},
		{name: "raft address without port", edit: func(m map[string]string) { m[tagRaftAddr] = "10.0.0.1" }, err: ErrInvalidTags},
		{name: "raft address without host", edit: func(m map[string]string) { m[tagRaftAddr] = ":7000" }, err: ErrInvalidTags},
		{name: "named port", edit: func(m map[string]string) { m[tagRaftAddr] = "10.0.0.1:raft" }, err: ErrInvalidTags},
		{name: "port 0", edit: func(m map[string]string) { m[tagRaftAddr] = "10.0.0.1:0" }, err: ErrInvalidTags},
		{name: "port out of range", edit: func(m map[string]string) { m[tagRaftAddr] = "10.0.0.1:70000" }, err: ErrInvalidTags},
		{name: "bad gRPC address", edit: func(m map[string]string) { m[tagGRPCAddr] = "10.0.0.1" }, err: ErrInvalidTags},
		{name: "bad HTTP address", edit: func(m map[string]string) { m[tagHTTPAddr] = "" }, err: ErrInvalidTags},
		{name: "negative expect", edit: func(m map[string]string) { m[tagExpect] = "-1" }, err: ErrInvalidTags},
		{name: "expect not a number", edit: func(m map[string]string) { m[tagExpect] = "three" }, err: ErrInvalidTags},
		{name: "missing expect", edit: func(m map[string]string) { delete(m, tagExpect) }, err: ErrInvalidTags},
		{name: "bootstrapped not a bool", edit: func(m map[string]string) { m[tagBootstrapped] = "maybe" }, err: ErrInvalidTags},
		{name: "missing bootstrapped", edit: func(m map[string]string) { delete(m, tagBootstrapped) }, err: ErrInvalidTags},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validTags.Map()
			if tt.edit != nil {
				tt.edit(m)
			}
			got, err := ParseTags(m)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseTags(%v) error = %v, want %v", m, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTags(%v): %v", m, err)
			}
			if got != tt.want {
				t.Errorf("ParseTags(%v) = %+v, want %+v", m, got, tt.want)
			}
		})
	}
}

func TestTagsRoundTrip(t *testing.T) {
	for _, tags := range []Tags{
		validTags,
		{ID: "b", RaftAddr: "[fe80::1]:1", GRPCAddr: "host.example:65535", HTTPAddr: "h:8080", Bootstrapped: true},
		{ID: "a node with spaces", RaftAddr: "127.0.0.1:7000", GRPCAddr: "127.0.0.1:7001", HTTPAddr: "127.0.0.1:7002", Expect: 5},
	} {
		m := tags.Map()
		if m[tagRole] != roleBackend {
			t.Errorf("Map() = %v: missing role tag", m)
		}
		got, err := ParseTags(m)
		if err != nil {
			t.Fatalf("ParseTags(%v): %v", m, err)
		}
		if got != tags {
			t.Errorf("ParseTags(Map()) = %+v, want %+v", got, tags)
		}
	}
}
