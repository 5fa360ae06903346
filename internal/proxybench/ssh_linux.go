//go:build linux

package proxybench

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sshPort is the origin's OpenSSH server; transparentPort the front end
// that iptables REDIRECT hands the client namespace's connections to it.
const (
	sshPort         = 22
	transparentPort = 1086
)

// sshTools returns why OpenSSH cannot be measured here, or "".
func sshTools() string {
	for _, t := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "unshare", "iptables"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Sprintf("%s not found (apt-get install -y openssh-server openssh-client util-linux iptables)", t)
		}
	}
	return ""
}

// startSSH starts the origin's sshd (in its own mount namespace, where a
// private /run holds the privilege-separation directory it insists on, so
// the host's /run is left alone), a transparent front end in the client
// namespace and the REDIRECT rule that sends the client namespace's
// connections to the origin's port 22 through it.
func (b *bench) startSSH(conv, key string) error {
	dir := filepath.Join(b.dir, "ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{"host", "user"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		return err
	}
	tp := b.net.Topology
	sshd := strings.Join([]string{"/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null",
		"-o", "ListenAddress=" + netip.AddrPortFrom(b.srvAddr, sshPort).String(),
		"-o", "HostKey=" + filepath.Join(dir, "host"),
		"-o", "AuthorizedKeysFile=" + filepath.Join(dir, "authorized_keys"),
		"-o", "PidFile=none", "-o", "UsePAM=no", "-o", "StrictModes=no",
		"-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no"}, " ")
	if err := b.start("sshd", tp.Server, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		"mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec "+sshd); err != nil {
		return err
	}
	if err := b.start("client-transparent", tp.Client, b.cfg.Exe, "proxy", "client", "--server", conv, "--key-file", key,
		"--transparent", "127.0.0.1:"+strconv.Itoa(transparentPort)); err != nil {
		return err
	}
	_, err = tp.Client.Exec("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", b.srvAddr.String(),
		"--dport", strconv.Itoa(sshPort), "-j", "REDIRECT", "--to-ports", strconv.Itoa(transparentPort))
	return err
}

// sshSession is an OpenSSH client in the client namespace running cat on
// the origin: an interactive session whose every line comes back.
type sshSession struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// dialSSH logs in through the transparent proxy, retrying while the front
// end or sshd are still starting, and checks that a line comes back.
func (b *bench) dialSSH() (*sshSession, error) {
	var err error
	for try := 0; try < 50; try++ {
		var s *sshSession
		if s, err = b.trySSH(); err == nil {
			return s, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("ssh through the transparent proxy: %w (logs in %s)", err, b.dir)
}

func (b *bench) trySSH() (*sshSession, error) {
	dir := filepath.Join(b.dir, "ssh")
	cmd := b.net.Topology.Client.Command("ssh", "-F", "/dev/null", "-T", "-i", filepath.Join(dir, "user"),
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "root@"+b.srvAddr.String(), "cat")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(b.dir, "ssh.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &sshSession{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if err := s.echo("hello"); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// echo sends a line and waits for it to come back, for at most a minute
// (then the caller's close ends the read).
func (s *sshSession) echo(line string) error {
	done := make(chan error, 1)
	go func() {
		if _, err := fmt.Fprintln(s.in, line); err != nil {
			done <- err
			return
		}
		got, err := s.out.ReadString('\n')
		if err == nil && got != line+"\n" {
			err = fmt.Errorf("sent %q, got %q back", line, got)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		return fmt.Errorf("no echo of %q within a minute", line)
	}
}

func (s *sshSession) close() {
	_ = s.in.Close()
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
