package diagnose

import (
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Networking: DNS, TLS certificates, connections between the app and its
// database.

func networkingSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-dns-check-failed", Phase: report.Networking, Severity: report.Warning,
			Literals: []string{"DNS checks failed"},
			Patterns: res(`DNS checks failed: expected (?P<want>\d+) (?P<rr>AAAA|A) records? for (?P<host>\S+?)\.?,? got (?P<got>\d+)`, `DNS checks failed`),
			Title:    "DNS for the app's hostname is incomplete",
			Cause:    "flyctl's check after the deploy found {$got|fewer} {$rr|address} records for {$host|the app's hostname} where it expected {$want|some}{$why}",
			Fix:      "List the app's addresses with `fly ips list`; allocate what is missing (`fly ips allocate-v6`, `fly ips allocate-v4 --shared`); for a custom domain, create the records `fly certs setup <domain>` shows.",
			Refine: func(m *Match) bool {
				if m.Get("rr") == "AAAA" && strings.HasSuffix(strings.TrimSuffix(m.Get("host"), "."), ".fly.dev") {
					m.Set("why", ": the app has no IPv6 address allocated, so its fly.dev name has no AAAA record")
				}
				return true
			},
		},
		{
			ID: "log-dns-nxdomain", Phase: report.Networking, Severity: report.Error, Key: "host",
			Literals: []string{"nxdomain", "Name or service not known", "could not translate host name", "Temporary failure in name resolution", "no such host", "getaddrinfo failed", "Name does not resolve"},
			Patterns: res(`\((?P<host>[^\s():]+):\d+\): non-existing domain - :nxdomain`,
				`could not translate host name "(?P<host>[^"]+)"`,
				`lookup (?P<host>[^\s:]+?)(?: on [^\s:]+(?::\d+)?)?: no such host`,
				`\[Errno -[235]\] (?:Name or service not known|Temporary failure in name resolution|Name does not resolve)`,
				`getaddrinfo failed`, `:nxdomain`),
			Title: "host name does not resolve",
			Cause: "{$what}",
			Fix:   "{$fix}",
			Refine: func(m *Match) bool {
				host := m.Get("host")
				if host == "" {
					host = "the host the app connects to"
				}
				if isPrivateFlyName(host) {
					m.Set("what", host+" is a private Fly name: it resolves only inside the organization's private network, over IPv6 — not from a client limited to IPv4, not from another organization, and not outside Fly (CI, a laptop)")
					m.Set("fix", "Let the client use IPv6 (for Elixir/Ecto: ECTO_IPV6=true or socket_options: [:inet6]); check the database app exists in the same organization (`fly status -a <db-app>`); from outside Fly, connect through `fly proxy` or `fly wireguard`.")
				} else {
					m.Set("what", "The host name "+host+" does not resolve where the process runs: a misspelt host in DATABASE_URL or REDIS_URL, a database app that was deleted or renamed, or a name that only exists in another network (a docker-compose service name)")
					m.Set("fix", "Check the host in the URL the app uses (`fly secrets list` shows which secrets are set; the value is in the database's attach output) and that the service it names exists.")
				}
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				if strings.Contains(m.Get("host"), "redis") || strings.Contains(m.Get("host"), "upstash") {
					return settingsVar(p, "REDIS_URL")
				}
				return settingsVar(p, "DATABASE_URL")
			},
		},
		{
			ID: "log-db-connection-refused", Phase: report.Networking, Severity: report.Error, Key: "host",
			Literals: []string{"Connection refused", "Connect call failed"},
			Patterns: res(`connection to server at "(?P<host>[^"]+)"[^,]*, port (?P<port>\d+) failed: Connection refused`,
				`Connect call failed \('(?P<host>[^']+)', (?P<port>\d+)`,
				`could not connect to server: Connection refused`,
				`(?P<host>[\w.-]+):(?P<port>5432|5433|6432|6379)\b.*[Cc]onnection refused`),
			Title: "database connection refused",
			Cause: "{$what}",
			Fix:   "{$fix}",
			Refine: func(m *Match) bool {
				host, port := m.Get("host"), m.Get("port")
				at := "the database"
				if host != "" {
					at = host + ":" + port
				}
				if host == "127.0.0.1" || host == "localhost" || host == "::1" {
					m.Set("what", "The app connects to a database on "+at+", inside its own machine, where none runs: the URL it uses is a default for local development, because DATABASE_URL (or REDIS_URL) is not set")
					m.Set("fix", "Set the URL as a Fly secret (`fly postgres attach` sets DATABASE_URL, or `fly secrets set DATABASE_URL=…`), and do not fall back to localhost in production settings.")
					m.Root = report.Secrets
					return true
				}
				m.Set("what", "Nothing accepted the connection to "+at+": the database machine is stopped or restarting, or the port is wrong")
				m.Set("fix", "Check the database app (`fly status -a <db-app>`, `fly machine start`) and the port in the URL (5432 for Postgres, 6432 for its PgBouncer).")
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				if m.Get("port") == "6379" {
					return settingsVar(p, "REDIS_URL")
				}
				return settingsVar(p, "DATABASE_URL")
			},
		},
		{
			ID: "log-acme-refused", Phase: report.Networking, Severity: report.Error,
			Literals: []string{"acme: error code"},
			Patterns: res(`acme: error code (?P<code>\d+) "urn:ietf:params:acme:error:(?P<kind>\w+)"`),
			Title:    "certificate authority refused the certificate",
			Cause:    "Let's Encrypt refused to issue the certificate ({$kind}){$why}",
			Fix:      "{$fix|Check the domain's DNS records against `fly certs check <domain>`, fix them, and let Fly retry the issuance.}",
			Refine: func(m *Match) bool {
				if g := acmeTXT.FindStringSubmatch(m.Text); g != nil {
					m.Set("why", ": a TXT record at "+g[1]+" holds a value Fly did not set (a left-over DNS-01 challenge, e.g. from a wildcard certificate set up elsewhere), and the CA checks it")
					m.Set("fix", "Remove the stale TXT record at "+g[1]+", or set it to the value `fly certs show <domain>` gives, then check again with `fly certs check <domain>`.")
				}
				return true
			},
		},
		{
			ID: "log-cert-pending", Phase: report.Networking, Severity: report.Notice,
			Literals: []string{"has not been issued yet", "Status is Awaiting certificates"},
			Patterns: res(`certificate for (?P<host>\S+) has not been issued yet`, `certificate for (?P<host>\S+) is being issued`, `Awaiting certificates`),
			Title:    "certificate not issued yet",
			Cause:    "The certificate for {$host|the domain} is still being issued: that is normal for a few minutes after `fly certs add`, not a failure",
			Fix:      "Wait and check again with `fly certs check {$host|<domain>}`; if it stays pending past an hour, the domain's A/AAAA (or CNAME) records do not point at the app yet.",
		},
		{
			ID: "log-tls-untrusted", Phase: report.Networking, RootPhase: report.Build, Severity: report.Error,
			Literals: []string{"CERTIFICATE_VERIFY_FAILED", "certificate signed by unknown authority", "unable to get local issuer certificate"},
			Patterns: res(`unable to get local issuer certificate`, `certificate signed by unknown authority`, `self[- ]signed certificate`, `CERTIFICATE_VERIFY_FAILED`),
			Title:    "TLS certificate not trusted",
			Cause:    "{$what}",
			Fix:      "{$fix}",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Quote, "self") {
					m.Set("what", "An outgoing TLS connection was refused because the server presents a self-signed certificate")
					m.Set("fix", "Give the client the server's CA certificate, or connect to the server's public name with a certificate from a public CA.")
					m.Root = ""
					return true
				}
				m.Set("what", "An outgoing TLS connection from the app could not verify the server's certificate: the image has no CA certificate bundle (slim and scratch images lack the ca-certificates package), or the server sends an incomplete chain")
				m.Set("fix", "Install ca-certificates in the final stage of the Dockerfile (`apt-get install -y --no-install-recommends ca-certificates`, Alpine `apk add ca-certificates`), or use certifi's bundle in the client.")
				return true
			},
			Point: func(p *project.Project, m *Match) Pointer {
				st := builtStage(p)
				if st == nil || m.Root == "" || st.HasPackage("ca-certificates") {
					return Pointer{}
				}
				return finalStageFrom(p, "The deployed {$stage} (FROM {$base}) does not install ca-certificates.")
			},
		},
	}
}

var acmeTXT = lazyre.New(`found at (_acme-challenge\.[^\s,;]+)`)

// isPrivateFlyName reports whether host is a name of Fly's private network.
func isPrivateFlyName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, suf := range []string{".internal", ".flycast", ".flympg.net"} {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}
