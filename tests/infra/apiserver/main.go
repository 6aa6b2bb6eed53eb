// Command testapiserver runs a throwaway Kubernetes API server for kfp-mlsecops tests.
//
// One process holds an embedded etcd (go.etcd.io/etcd/server/v3/embed) listening on loopback
// and kube-apiserver (k8s.io/kubernetes/cmd/kube-apiserver/app) serving HTTPS on
// 127.0.0.1:--secure-port. There is no controller-manager, scheduler or kubelet: the server
// stores and validates objects (custom resources included) and nothing reconciles them.
//
// Per start it creates, under --work-dir: a static token file (the token comes from --token-file
// or is generated and written to <work-dir>/token), a service-account signing key, the etcd data
// directory, and (written by kube-apiserver itself) a self-signed CA plus serving certificate in
// <work-dir>/certs/apiserver.crt. The work dir is removed on exit when it was created here (no
// --work-dir) or --remove-work-dir-on-exit is set; a SIGKILL of this process leaves it behind.
//
// Authorization is RBAC; the token's user is in system:masters, so it may do anything.
// Arguments after "--" are appended to the kube-apiserver command line.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// adminUser is the identity behind the static token; system:masters bypasses RBAC checks.
const (
	adminUser  = "mlsecops-test-admin"
	adminGroup = "system:masters"
)

// etcdStartTimeout bounds how long we wait for the embedded etcd to elect itself leader.
const etcdStartTimeout = 60 * time.Second

type settings struct {
	workDir          string
	securePort       int
	tokenFile        string
	exitOnStdinClose bool
	removeWorkDir    bool
	extraArgs        []string
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	s, err := parseSettings(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapiserver: %v\n", err)
		return 2
	}

	workDir := s.workDir
	if workDir == "" {
		workDir, err = os.MkdirTemp("", "testapiserver-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "testapiserver: create work dir: %v\n", err)
			return 1
		}
		s.removeWorkDir = true
	}
	if s.removeWorkDir {
		defer os.RemoveAll(workDir)
	}

	paths, err := prepareFiles(workDir, s.tokenFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapiserver: %v\n", err)
		return 1
	}

	etcd, err := startEtcd(filepath.Join(workDir, "etcd"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapiserver: start etcd: %v\n", err)
		return 1
	}
	defer etcd.Close()
	etcdURL := "http://" + etcd.Clients[0].Addr().String()
	fmt.Fprintf(os.Stderr, "testapiserver: etcd serving on %s\n", etcdURL)

	// kube-apiserver owns SIGTERM/SIGINT handling (graceful shutdown, then Run returns), so
	// every reason to stop is turned into a SIGTERM to ourselves.
	go func() {
		if err, ok := <-etcd.Err(); ok && err != nil {
			fmt.Fprintf(os.Stderr, "testapiserver: etcd failed: %v\n", err)
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}
	}()
	if s.exitOnStdinClose {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			fmt.Fprintln(os.Stderr, "testapiserver: stdin closed, shutting down")
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}()
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append(apiserverArgs(s.securePort, etcdURL, paths), s.extraArgs...))
	return cli.Run(cmd)
}

func parseSettings(argv []string) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("testapiserver", flag.ContinueOnError)
	fs.StringVar(&s.workDir, "work-dir", "",
		"existing directory for certs, keys and etcd data (default: a temp dir removed on exit)")
	fs.IntVar(&s.securePort, "secure-port", 0, "HTTPS port on 127.0.0.1 (required)")
	fs.StringVar(&s.tokenFile, "token-file", "",
		"file holding the bearer token to accept (default: generate one into <work-dir>/token)")
	fs.BoolVar(&s.removeWorkDir, "remove-work-dir-on-exit", false,
		"delete --work-dir and everything in it when the server exits")
	fs.BoolVar(&s.exitOnStdinClose, "exit-on-stdin-close", false,
		"shut down when stdin reaches EOF (lets a parent that dies take the server with it)")
	if err := fs.Parse(argv); err != nil {
		return s, err
	}
	s.extraArgs = fs.Args()
	if s.securePort <= 0 || s.securePort > 65535 {
		return s, fmt.Errorf("--secure-port must be 1..65535, got %d", s.securePort)
	}
	return s, nil
}

type serverFiles struct {
	certDir   string
	tokensCSV string
	saKey     string
}

func prepareFiles(workDir, tokenFile string) (serverFiles, error) {
	p := serverFiles{
		certDir:   filepath.Join(workDir, "certs"),
		tokensCSV: filepath.Join(workDir, "tokens.csv"),
		saKey:     filepath.Join(workDir, "service-account.key"),
	}
	token, err := loadOrCreateToken(workDir, tokenFile)
	if err != nil {
		return p, err
	}
	line := fmt.Sprintf("%s,%s,%s,%q\n", token, adminUser, adminUser, adminGroup)
	if err := os.WriteFile(p.tokensCSV, []byte(line), 0o600); err != nil {
		return p, fmt.Errorf("write token auth file: %w", err)
	}
	if err := writeServiceAccountKey(p.saKey); err != nil {
		return p, err
	}
	return p, nil
}

func loadOrCreateToken(workDir, tokenFile string) (string, error) {
	if tokenFile != "" {
		raw, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		token := strings.TrimSpace(string(raw))
		if len(token) < 16 || strings.ContainsAny(token, ",\" \t\r\n") {
			return "", errors.New("--token-file must hold one token of at least 16 characters " +
				"without commas, quotes or whitespace")
		}
		return token, nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token := hex.EncodeToString(buf)
	if err := os.WriteFile(filepath.Join(workDir, "token"), []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	return token, nil
}

// writeServiceAccountKey writes a fresh P-256 key; kube-apiserver derives the public key from it.
func writeServiceAccountKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode service-account key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write service-account key: %w", err)
	}
	return nil
}

// startEtcd runs a single-member etcd whose client and peer listeners take free loopback ports
// chosen by the kernel (port 0), so there is no port race.
func startEtcd(dataDir string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "testapiserver"
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// The data is thrown away after the run; skipping fsync makes writes much faster.
	cfg.UnsafeNoFsync = true
	// Nothing here speaks etcd's HTTP/JSON gateway, and it would dial the literal ":0" address.
	cfg.EnableGRPCGateway = false
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{loopback}
	cfg.AdvertiseClientUrls = []url.URL{loopback}
	cfg.ListenPeerUrls = []url.URL{loopback}
	cfg.AdvertisePeerUrls = []url.URL{loopback}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(etcdStartTimeout):
		e.Close()
		return nil, fmt.Errorf("not ready after %s", etcdStartTimeout)
	}
}

func apiserverArgs(port int, etcdURL string, p serverFiles) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		// No --tls-cert-file: kube-apiserver writes a self-signed CA and a serving cert for
		// 127.0.0.1 into cert-dir/apiserver.crt (leaf followed by CA).
		"--cert-dir=" + p.certDir,
		"--token-auth-file=" + p.tokensCSV,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.saKey,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// These plugins expect kube-controller-manager to create service accounts, track quota
		// or remove protection finalizers; without it they would only get in the way.
		"--disable-admission-plugins=ServiceAccount,ResourceQuota,StorageObjectInUseProtection",
		// The "kubernetes" Service endpoints would point at 127.0.0.1, which Endpoints reject.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}
