package health

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// quietLog drops the servers' "TLS handshake error" lines, which the
// failing cases cause on purpose.
var quietLog = log.New(io.Discard, "", 0)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "deploy-action test CA"},
		NotBefore:             time.Now().Add(-365 * 24 * time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate valid from notBefore to notAfter for
// names (IP addresses or DNS names).
func (ca *testCA) leaf(t *testing.T, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "app.test"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer serves a JSON 200 over TLS with cert.
func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(jsonHandler(200, `{"status":"ok"}`))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = quietLog
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLS(t *testing.T) {
	now := time.Now()
	ca := newCA(t)
	selfSigned := httptest.NewUnstartedServer(jsonHandler(200, `{"status":"ok"}`))
	selfSigned.Config.ErrorLog = quietLog
	selfSigned.StartTLS()
	t.Cleanup(selfSigned.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(selfSigned.Certificate())

	tests := []struct {
		name     string
		url      string
		roots    *x509.CertPool
		client   *http.Client
		problem  CertProblem
		severity report.Severity
		days     func(int) bool
		msg      []string
		fix      string
	}{
		{name: "self-signed, trusted through RootCAs", url: selfSigned.URL, roots: trusted,
			severity: report.Notice, days: func(d int) bool { return d > 365 }, msg: []string{"is valid until", `issuer "O=Acme Co"`}},
		{name: "self-signed, trusted through Client", url: selfSigned.URL, client: selfSigned.Client(),
			severity: report.Notice, days: func(d int) bool { return d > 365 }},
		{name: "self-signed, not trusted", url: selfSigned.URL, problem: CertSelfSigned, severity: report.Error,
			days: func(d int) bool { return d > 365 },
			msg:  []string{"TLS refused the certificate of 127.0.0.1", "3 of 3 samples", "certificate signed by unknown authority", `subject "O=Acme Co"`},
			fix:  "fly certs add 127.0.0.1"},
		{name: "unknown authority", url: tlsServer(t, ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "127.0.0.1")).URL,
			problem: CertUnknownAuthority, severity: report.Error, days: func(d int) bool { return d == 89 },
			msg: []string{"certificate signed by unknown authority", `issuer "CN=deploy-action test CA"`}, fix: "full chain"},
		{name: "expired", url: tlsServer(t, ca.leaf(t, now.Add(-30*24*time.Hour), now.Add(-49*time.Hour), "127.0.0.1")).URL, roots: ca.pool,
			problem: CertExpired, severity: report.Error, days: func(d int) bool { return d == -2 },
			msg: []string{"certificate has expired", "(2 days ago)"}, fix: "fly certs check 127.0.0.1"},
		{name: "hostname mismatch", url: tlsServer(t, ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "app.example.com")).URL, roots: ca.pool,
			problem: CertHostname, severity: report.Error,
			msg: []string{"x509: cannot validate certificate for 127.0.0.1", "for app.example.com"}, fix: "fly certs add 127.0.0.1"},
		{name: "expires soon", url: tlsServer(t, ca.leaf(t, now.Add(-80*24*time.Hour), now.Add(5*24*time.Hour+time.Hour), "127.0.0.1")).URL, roots: ca.pool,
			severity: report.Warning, days: func(d int) bool { return d == 5 },
			msg: []string{"expires in 5 days", "under 14 days"}, fix: "fly certs check 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fast(tt.url+"/health", 3)
			o.RootCAs, o.Client = tt.roots, tt.client
			o.ExpectJSON = expect(t, "status=ok")
			res := mustVerify(t, o)
			fs := res.Findings()
			if res.Cert == nil {
				t.Fatalf("no certificate in the result:\n%s", dump(fs))
			}
			if res.Cert.Problem != tt.problem || res.Cert.Verified != (tt.problem == CertOK) {
				t.Errorf("problem %q verified %v, want %q", res.Cert.Problem, res.Cert.Verified, tt.problem)
			}
			if tt.days != nil && !tt.days(res.Cert.DaysLeft) {
				t.Errorf("days left %d", res.Cert.DaysLeft)
			}
			f := one(t, fs, RuleTLS)
			if f.Severity != tt.severity {
				t.Errorf("severity %s, want %s:\n%s", f.Severity, tt.severity, dump(fs))
			}
			containsAll(t, "tls finding", f.Message, tt.msg...)
			containsAll(t, "fix", f.Fix, tt.fix)
			wantPass := tt.problem == CertOK
			if res.OK() != wantPass || (res.Passed == 3) != wantPass {
				t.Errorf("OK %v passed %d, want pass %v:\n%s", res.OK(), res.Passed, wantPass, dump(fs))
			}
			if !wantPass && len(fs) != 2 {
				t.Errorf("a refused certificate is one finding beside the figures:\n%s", dump(fs))
			}
			if _, ok := res.Figures()["cert_days_left"]; !ok && tt.days != nil {
				t.Error("Figures lacks cert_days_left")
			}
		})
	}
}

func TestHTTPSOnPlainServer(t *testing.T) {
	srv := server(t, jsonHandler(200, `{}`))
	res := mustVerify(t, fast(strings.Replace(srv.URL, "http://", "https://", 1), 1))
	f := one(t, res.Findings(), RuleTLS)
	containsAll(t, "tls", f.Message, "server gave HTTP response to HTTPS client")
	containsAll(t, "fix", f.Fix, "serves TLS")
	if res.Cert.Problem != CertHandshake {
		t.Errorf("problem %q", res.Cert.Problem)
	}
}
