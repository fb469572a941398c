package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// DefaultFetchHosts is the default allow-list of fetch_whole_web_page: a
// host, or a host and a path prefix.
var DefaultFetchHosts = []string{"postgresql.org", "wiki.postgresql.org", "git.postgresql.org", "github.com/postgres"}

// Resolver resolves host names; *net.Resolver has it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// FetchOptions configure the web fetcher.
type FetchOptions struct {
	// AllowHosts lists "host" or "host/path-prefix" entries (default
	// DefaultFetchHosts). "postgresql.org" also matches www.postgresql.org.
	AllowHosts []string
	// MaxBytes bounds the body read (default 2 MiB); MaxText the text
	// returned (default 24 KiB).
	MaxBytes int64
	MaxText  int
	// Timeout bounds the whole fetch with its redirects (default 20 s).
	Timeout      time.Duration
	MaxRedirects int
	Resolver     Resolver
	// TLS overrides the TLS configuration (tests: a private root).
	TLS *tls.Config

	// allowAddr, in tests, admits one exact address besides public ones.
	allowAddr func(netip.AddrPort) bool
}

// Fetcher fetches allow-listed https pages as text. It refuses loopback,
// private, link-local, metadata and other non-public addresses after DNS
// resolution and again at dial time (so DNS rebinding and redirects cannot
// reach them), re-checks every redirect, and bounds size and time.
type Fetcher struct {
	o      FetchOptions
	client *http.Client
}

// NewFetcher returns a fetcher.
func NewFetcher(o FetchOptions) *Fetcher {
	if len(o.AllowHosts) == 0 {
		o.AllowHosts = DefaultFetchHosts
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 20
	}
	if o.MaxText <= 0 {
		o.MaxText = 24 << 10
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	f := &Fetcher{o: o}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: f.control}
	tr := &http.Transport{
		Proxy: nil, // never through an environment proxy: the address check must see the real peer
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := f.resolve(ctx, host)
			if err != nil {
				return nil, err
			}
			var last error
			for _, ip := range ips {
				c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return c, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig:        o.TLS,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  15 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
	f.client = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= o.MaxRedirects {
				return fmt.Errorf("more than %d redirects", o.MaxRedirects)
			}
			if err := f.checkURL(req.Context(), req.URL); err != nil {
				return fmt.Errorf("redirect to %s refused: %w", req.URL.Redacted(), err)
			}
			return nil
		},
	}
	return f
}

// ErrRefused marks a URL the fetcher will not fetch.
var ErrRefused = errors.New("refused")

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// allowed reports whether the URL's host (and path) is on the allow-list.
func (f *Fetcher) allowed(u *url.URL) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, e := range f.o.AllowHosts {
		e = strings.ToLower(strings.TrimSpace(e))
		h, prefix, _ := strings.Cut(e, "/")
		if host != h && host != "www."+h {
			continue
		}
		if prefix == "" {
			return true
		}
		p := strings.TrimPrefix(u.EscapedPath(), "/")
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// checkURL refuses non-https, non-allow-listed and non-public URLs
// before any connection is made.
func (f *Fetcher) checkURL(ctx context.Context, u *url.URL) error {
	if u.Scheme != "https" {
		return refused("only https URLs are fetched, not %q", u.Scheme)
	}
	if u.User != nil {
		return refused("URLs with user information are not fetched")
	}
	if u.Hostname() == "" {
		return refused("no host in the URL")
	}
	if !f.allowed(u) {
		return refused("%s is not on the allow-list (%s)", u.Hostname(), strings.Join(f.o.AllowHosts, ", "))
	}
	_, err := f.resolve(ctx, u.Hostname())
	return err
}

// resolve returns the host's addresses, refusing the host when any of them
// is not a public unicast address.
func (f *Fetcher) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if why := blockedAddr(ip); why != "" && (f.o.allowAddr == nil || !f.o.allowAddr(netip.AddrPortFrom(ip.Unmap(), 0))) {
			return nil, refused("%s is a %s address", ip, why)
		}
		return []netip.Addr{ip.Unmap()}, nil
	}
	addrs, err := f.o.Resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	var out []netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return nil, refused("%s resolves to an unusable address", host)
		}
		ip = ip.Unmap()
		if why := blockedAddr(ip); why != "" && (f.o.allowAddr == nil || !f.o.allowAddr(netip.AddrPortFrom(ip, 0))) {
			return nil, refused("%s resolves to %s, a %s address", host, ip, why)
		}
		out = append(out, ip)
	}
	return out, nil
}

// control runs after the socket is made and before it connects: the last
// word on the peer address, whatever resolved it.
func (f *Fetcher) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("cannot check the address %q", address)
	}
	ip := ap.Addr().Unmap()
	if f.o.allowAddr != nil && f.o.allowAddr(netip.AddrPortFrom(ip, ap.Port())) {
		return nil
	}
	if why := blockedAddr(ip); why != "" {
		return refused("connection to %s refused: a %s address", ip, why)
	}
	return nil
}

var blockedPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (private)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (may map to a private IPv4)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (may map to a private IPv4)"},
}

// blockedAddr says why ip must not be reached ("" if it may).
func blockedAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip == netip.MustParseAddr("169.254.169.254") || ip == netip.MustParseAddr("fd00:ec2::254"):
		return "cloud metadata"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsPrivate():
		return "private"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, b := range blockedPrefixes {
		if b.p.Contains(ip) {
			return b.why
		}
	}
	if !ip.IsGlobalUnicast() {
		return "non-public"
	}
	return ""
}

// Page is a fetched page as text.
type Page struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
	Text  string `json:"text"`
	Bytes int    `json:"bytes"`
	Cut   bool   `json:"cut,omitempty"`
}

// Fetch gets an allow-listed https page and returns its text.
func (f *Fetcher) Fetch(ctx context.Context, raw string) (*Page, error) {
	ctx, cancel := context.WithTimeout(ctx, f.o.Timeout)
	defer cancel()
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, refused("not a URL")
	}
	if err := f.checkURL(ctx, u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "pgai-reviewer (fetch_whole_web_page)")
	req.Header.Set("Accept", "text/html, text/plain;q=0.9")
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: HTTP %d", resp.Request.URL.Redacted(), resp.StatusCode)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "" && ct != "text/html" && ct != "text/plain" && ct != "application/xhtml+xml" {
		return nil, fmt.Errorf("fetch %s: content type %s is not a web page", resp.Request.URL.Redacted(), ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", resp.Request.URL.Redacted(), err)
	}
	p := &Page{URL: resp.Request.URL.String(), Bytes: len(body)}
	if int64(len(body)) > f.o.MaxBytes {
		body = body[:f.o.MaxBytes]
		p.Cut = true
	}
	if ct == "text/plain" {
		p.Text = string(body)
	} else {
		p.Title, p.Text = htmlText(string(body))
	}
	if len(p.Text) > f.o.MaxText {
		p.Text = cut(p.Text, f.o.MaxText)
		p.Cut = true
	}
	return p, nil
}

var (
	reDrop   = regexp.MustCompile(`(?is)<(script|style|noscript|svg|head|nav|footer)\b.*?</(script|style|noscript|svg|head|nav|footer)\s*>|<!--.*?-->`)
	reTitle  = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	reBlock  = regexp.MustCompile(`(?i)<(br|/p|/div|/h[1-6]|/li|/tr|/pre|/table|/section|/article|/dt|/dd)\b[^>]*>`)
	reItem   = regexp.MustCompile(`(?i)<li\b[^>]*>`)
	reInline = regexp.MustCompile(`(?i)</?(a|code|b|i|em|strong|span|tt|var|sup|sub|abbr|acronym|literal)\b[^>]*>`)
	reTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	reSpaces = regexp.MustCompile(`[ \t\r\f\v]+`)
	reBlank  = regexp.MustCompile(`\n\s*\n+`)
)

// htmlText turns HTML into readable text: scripts, styles and navigation
// dropped, block ends as line breaks, entities decoded.
func htmlText(s string) (title, text string) {
	if m := reTitle.FindStringSubmatch(s); m != nil {
		title = strings.TrimSpace(html.UnescapeString(reTag.ReplaceAllString(m[1], "")))
	}
	s = reDrop.ReplaceAllString(s, " ")
	s = reBlock.ReplaceAllString(s, "\n")
	s = reItem.ReplaceAllString(s, "\n- ")
	s = reInline.ReplaceAllString(s, "")
	s = reTag.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	s = reSpaces.ReplaceAllString(s, " ")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = reBlank.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return title, strings.TrimSpace(s)
}

// FetchTool is fetch_whole_web_page.
func FetchTool(f *Fetcher) *Tool {
	hosts := strings.Join(f.o.AllowHosts, ", ")
	return &Tool{
		Name: ToolFetch,
		Description: "Fetch a whole web page as text, from allow-listed https sites only (" + hosts + "). " +
			"Use it when a knowledge-base result points to a page you need in full. Cite the page URL.",
		Schema: `{"type":"object","additionalProperties":false,"required":["url"],"properties":{
"url":{"type":"string","minLength":9,"maxLength":2000,"description":"https URL"}}}`,
		Timeout:   f.o.Timeout + 5*time.Second,
		MaxOutput: f.o.MaxText + 1024,
		Run: func(ctx context.Context, tc *ToolCtx, raw json.RawMessage) (string, error) {
			var a struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(raw, &a); err != nil {
				return "", err
			}
			p, err := f.Fetch(ctx, a.URL)
			if err != nil {
				return "", err
			}
			if tc != nil && tc.Conv != nil {
				tc.Conv.AddLink(p.URL)
				tc.Conv.AddLink(a.URL)
			}
			b, err := json.Marshal(p)
			return string(b), err
		},
	}
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
