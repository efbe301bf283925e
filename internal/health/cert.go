package health

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"time"
)

// CertProblem names why TLS refused a certificate.
type CertProblem string

// The certificate problems Verify tells apart.
const (
	CertOK               CertProblem = ""                  // TLS accepted the certificate
	CertExpired          CertProblem = "expired"           // past NotAfter (or before NotBefore)
	CertSelfSigned       CertProblem = "self-signed"       // signed by itself, not by a trusted CA
	CertUnknownAuthority CertProblem = "unknown-authority" // chain does not reach a trusted CA
	CertHostname         CertProblem = "hostname-mismatch" // not valid for the URL's host
	CertHandshake        CertProblem = "handshake"         // TLS failed before or beside the certificate
)

// Cert is what Verify learned about the server's TLS certificate.
type Cert struct {
	// Subject and Issuer are the leaf certificate's distinguished names.
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	// DNSNames are the host names the certificate is valid for.
	DNSNames []string `json:"dns_names,omitempty"`
	// NotAfter is when the certificate expires.
	NotAfter time.Time `json:"not_after,omitempty"`
	// DaysLeft is the number of whole days until NotAfter, truncated toward
	// zero (negative when expired more than a day ago).
	DaysLeft int `json:"days_left"`
	// Verified is true when the TLS handshake accepted the certificate.
	Verified bool `json:"verified"`
	// Problem is why TLS refused it, and Detail what TLS said.
	Problem CertProblem `json:"problem,omitempty"`
	Detail  string      `json:"detail,omitempty"`
	// Host is the host name the certificate was checked against.
	Host string `json:"host"`
}

// certFromState describes the leaf of an accepted TLS connection.
func certFromState(st *tls.ConnectionState, host string, now time.Time) *Cert {
	if st == nil || len(st.PeerCertificates) == 0 {
		return nil
	}
	c := describeLeaf(st.PeerCertificates[0], host, now)
	c.Verified = true
	return c
}

// certFromError describes the certificate behind a TLS failure, and why TLS
// refused it.
func certFromError(err error, host string, now time.Time) *Cert {
	var (
		verErr  *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		hostErr x509.HostnameError
		leaf    *x509.Certificate
		chain   []*x509.Certificate
	)
	if errors.As(err, &verErr) && len(verErr.UnverifiedCertificates) > 0 {
		chain = verErr.UnverifiedCertificates
		leaf = chain[0]
	}
	problem := CertHandshake
	switch {
	case errors.As(err, &invalid) && (invalid.Reason == x509.Expired):
		problem = CertExpired
		if leaf == nil {
			leaf = invalid.Cert
		}
	case errors.As(err, &hostErr):
		problem = CertHostname
		if leaf == nil {
			leaf = hostErr.Certificate
		}
	case errors.As(err, &unkAuth):
		problem = CertUnknownAuthority
		if leaf == nil {
			leaf = unkAuth.Cert
		}
		if leaf != nil && len(chain) <= 1 && selfSigned(leaf) {
			problem = CertSelfSigned
		}
	}
	var c *Cert
	if leaf != nil {
		c = describeLeaf(leaf, host, now)
	} else {
		c = &Cert{Host: host}
	}
	c.Problem = problem
	c.Detail = tlsDetail(err)
	return c
}

// tlsDetail returns what TLS said, without the request's method and URL.
func tlsDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func describeLeaf(leaf *x509.Certificate, host string, now time.Time) *Cert {
	return &Cert{
		Subject:  leaf.Subject.String(),
		Issuer:   leaf.Issuer.String(),
		DNSNames: leaf.DNSNames,
		NotAfter: leaf.NotAfter,
		DaysLeft: daysUntil(now, leaf.NotAfter),
		Host:     host,
	}
}

// daysUntil counts whole days from now to t, truncated toward zero: 5 days
// and an hour left is 5, expired 2 days and an hour ago is -2.
func daysUntil(now, t time.Time) int {
	return int(t.Sub(now).Hours() / 24)
}
