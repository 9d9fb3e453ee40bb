package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request came from: the peer, or, when the
// peer is one of Config.TrustedProxies, the nearest address before it that
// is not a trusted proxy, in the one header the proxy sets
// (Config.ProxyHeader: X-Forwarded-For, or Forwarded). Headers from anyone
// else, and the other header, are ignored: a client could write anything
// in them.
func (s *Server) clientAddr(r *http.Request) string {
	peer := peerAddr(r)
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := s.forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		if !s.trusted(hops[i]) {
			return hops[i].String()
		}
	}
	return peer.String()
}

// isHTTPS reports whether the person's browser reached us over TLS:
// directly, or through a trusted proxy that says so.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !s.trusted(peerAddr(r)) {
		return false
	}
	if !s.forwardedHeader() {
		p := r.Header.Get("X-Forwarded-Proto")
		return strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https")
	}
	els := forwardedElements(r.Header)
	// The last element is the one the nearest (trusted) proxy added.
	return len(els) > 0 && strings.EqualFold(els[len(els)-1]["proto"], "https")
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// forwardedHeader reports whether the proxies set Forwarded (RFC 7239)
// rather than X-Forwarded-For.
func (s *Server) forwardedHeader() bool { return strings.EqualFold(s.cfg.ProxyHeader, "Forwarded") }

// forwardedFor lists the addresses a request passed through, client first,
// from the proxy's header. Entries that are not addresses (obfuscated
// names, "unknown") end the list where they stand, so nothing before them
// is believed.
func (s *Server) forwardedFor(h http.Header) []netip.Addr {
	var raw []string
	if !s.forwardedHeader() {
		for _, v := range h.Values("X-Forwarded-For") {
			raw = append(raw, strings.Split(v, ",")...)
		}
	} else {
		for _, el := range forwardedElements(h) {
			raw = append(raw, el["for"])
		}
	}
	var out []netip.Addr
	for _, v := range raw {
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if ap, err := netip.ParseAddrPort(v); err == nil {
			out = append(out, ap.Addr().Unmap())
			continue
		}
		ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"))
		if err != nil {
			out = out[:0] // what came before an unreadable hop is unknowable
			continue
		}
		out = append(out, ip.Unmap())
	}
	return out
}

// forwardedElements parses the Forwarded header's elements into their
// lower-cased parameters.
func forwardedElements(h http.Header) []map[string]string {
	var out []map[string]string
	for _, v := range h.Values("Forwarded") {
		for _, el := range strings.Split(v, ",") {
			m := map[string]string{}
			for _, pair := range strings.Split(el, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok {
					m[strings.ToLower(k)] = strings.Trim(val, `"`)
				}
			}
			out = append(out, m)
		}
	}
	return out
}
