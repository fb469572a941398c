package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeResolver maps names to addresses.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ips, ok := f[host]; ok {
		var out []net.IPAddr
		for _, s := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(s)})
		}
		return out, nil
	}
	return net.DefaultResolver.LookupIPAddr(ctx, host)
}

// countingListener counts TCP connections to a loopback port.
func countingListener(t *testing.T, network, addr string) (port int, count *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	count = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			count.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, count
}

func TestFetchRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	port, count := countingListener(t, "tcp4", "127.0.0.1:0")
	port6, count6 := 0, &atomic.Int32{}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		port6, count6 = countingListener(t, "tcp6", "[::1]:0")
	}
	// A TLS server on loopback that redirects to the counting port; only
	// its own exact address is admitted, so the redirect target is refused
	// at dial time at the latest.
	redir := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-loopback":
			http.Redirect(w, r, fmt.Sprintf("https://127.0.0.1:%d/secret", port), http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, fmt.Sprintf("https://rebind.test:%d/secret", port), http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
		}
	}))
	t.Cleanup(redir.Close)
	redirAddr := netip.MustParseAddrPort(redir.Listener.Addr().String())
	f := NewFetcher(FetchOptions{
		AllowHosts: []string{"127.0.0.1", "::1", "169.254.169.254", "10.0.0.1", "localhost", "rebind.test", "metadata.google.internal", "postgresql.org", "::ffff:169.254.169.254"},
		Resolver:   fakeResolver{"rebind.test": {"127.0.0.1"}, "metadata.google.internal": {"169.254.169.254"}},
		TLS:        redir.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	fredir := NewFetcher(f.o)
	fredir.o.allowAddr = func(ap netip.AddrPort) bool {
		return ap.Addr() == redirAddr.Addr() && (ap.Port() == 0 || ap.Port() == redirAddr.Port())
	}
	fredir = NewFetcher(fredir.o)
	tests := []struct {
		f    *Fetcher
		url  string
		want string
	}{
		{f, fmt.Sprintf("https://127.0.0.1:%d/", port), "127.0.0.1 is a loopback address"},
		{f, fmt.Sprintf("https://[::1]:%d/", port6), "::1 is a loopback address"},
		{f, "https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"},
		{f, "https://[::ffff:169.254.169.254]/", "169.254.169.254 is a cloud metadata address"},
		{f, "https://metadata.google.internal/computeMetadata/v1/", "resolves to 169.254.169.254, a cloud metadata address"},
		{f, "https://10.0.0.1/", "10.0.0.1 is a private address"},
		{f, fmt.Sprintf("https://localhost:%d/", port), "localhost resolves to"},
		{f, fmt.Sprintf("https://rebind.test:%d/", port), "rebind.test resolves to 127.0.0.1, a loopback address"},
		{f, fmt.Sprintf("http://127.0.0.1:%d/", port), `only https URLs are fetched, not "http"`},
		{f, "https://evil.example.com/", "evil.example.com is not on the allow-list"},
		{f, "https://user:pw@postgresql.org/", "URLs with user information are not fetched"},
		{fredir, "https://" + redirAddr.String() + "/to-loopback", "connection to 127.0.0.1 refused: a loopback address"},
		{fredir, "https://" + redirAddr.String() + "/to-name", "connection to 127.0.0.1 refused: a loopback address"},
		{fredir, "https://" + redirAddr.String() + "/to-metadata", "redirect to https://169.254.169.254/latest/meta-data/ refused"},
	}
	for _, tt := range tests {
		_, err := tt.f.Fetch(t.Context(), tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.url, err, tt.want)
			continue
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v is not a refusal", tt.url, err)
		}
	}
	if n := count.Load() + count6.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listeners", n)
	}
	// The default allow-list: postgresql.org hosts and github.com/postgres only.
	d := NewFetcher(FetchOptions{})
	for u, ok := range map[string]bool{
		"https://www.postgresql.org/docs/": true, "https://wiki.postgresql.org/wiki/Lock_Monitoring": true,
		"https://git.postgresql.org/gitweb/": true, "https://github.com/postgres/postgres/blob/master/README": true,
		"https://github.com/postgresx/evil": false, "https://github.com/other/postgres": false, "https://postgresql.org.evil.com/": false,
	} {
		pu, _ := parseURL(u)
		if d.allowed(pu) != ok {
			t.Errorf("allowed(%s) = %v", u, !ok)
		}
	}
}

func TestFetchPageAsText(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/big" {
			fmt.Fprint(w, "<p>"+strings.Repeat("lock ", 5000)+"</p>")
			return
		}
		fmt.Fprint(w, `<html><head><title>Explicit Locking</title><style>p{}</style></head><body><nav>menu</nav>
<h1>13.3. Explicit Locking</h1><p>ACCESS EXCLUSIVE conflicts with locks of all modes &amp; is taken by <code>ALTER TABLE</code>.</p>
<script>alert(1)</script><ul><li>one</li><li>two</li></ul></body></html>`)
	}))
	t.Cleanup(srv.Close)
	addr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	o := FetchOptions{AllowHosts: []string{"127.0.0.1"}, TLS: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}, MaxBytes: 4096}
	o.allowAddr = func(ap netip.AddrPort) bool {
		return ap.Addr() == addr.Addr() && (ap.Port() == 0 || ap.Port() == addr.Port())
	}
	f := NewFetcher(o)
	p, err := f.Fetch(t.Context(), srv.URL+"/locking")
	if err != nil {
		t.Fatal(err)
	}
	want := "13.3. Explicit Locking\nACCESS EXCLUSIVE conflicts with locks of all modes & is taken by ALTER TABLE.\n\n- one\n\n- two"
	if p.Title != "Explicit Locking" || p.Text != want {
		t.Errorf("title %q text %q", p.Title, p.Text)
	}
	p, err = f.Fetch(t.Context(), srv.URL+"/big")
	if err != nil || !p.Cut || p.Bytes != 4097 {
		t.Errorf("big page: %+v %v", p, err)
	}
}
