package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gallows-game/gallows/frontend"
)

// frontendLimits is the frontend's limits from its flags: the defaults
// with every rate and burst multiplied by scale, and the reverse proxies
// trusted to report the client IP in X-Forwarded-For (CIDRs or single
// addresses).
func frontendLimits(scale float64, trustedProxies []string) (frontend.Limits, error) {
	if !(scale > 0) {
		return frontend.Limits{}, fmt.Errorf("--limit-scale %v: want a number above 0", scale)
	}
	var l frontend.Limits
	for _, p := range trustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil && !strings.Contains(p, "/") {
			var addr netip.Addr
			if addr, err = netip.ParseAddr(p); err == nil {
				prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
			}
		}
		if err != nil {
			return frontend.Limits{}, fmt.Errorf("--trusted-proxies %q: want a CIDR such as 10.0.0.0/8 or an address: %w", p, err)
		}
		l.TrustedProxies = append(l.TrustedProxies, prefix.Masked())
	}
	if scale != 1 {
		l = l.Scaled(scale)
	}
	return l, nil
}
