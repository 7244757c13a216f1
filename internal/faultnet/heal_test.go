package faultnet

import "testing"

// HealHost undoes an Isolate of one host and leaves another cut alone.
func TestHealHost(t *testing.T) {
	n := New()
	for _, h := range []string{"a", "b", "c"} {
		n.Host(h)
	}
	n.Isolate("a")
	n.Cut("b", "c")
	n.HealHost("a")
	for _, l := range []link{{"a", "b"}, {"b", "a"}, {"a", "c"}, {"c", "a"}} {
		if n.state(l.from, l.to).cut {
			t.Errorf("%s→%s still cut after HealHost(a)", l.from, l.to)
		}
	}
	if !n.state("b", "c").cut || !n.state("c", "b").cut {
		t.Error("HealHost(a) healed b–c too")
	}
}
