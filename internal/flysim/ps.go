package flysim

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// processStat is one entry of the ps answer (fly.ProcessStat).
type processStat struct {
	Pid           int32          `json:"pid"`
	Stime         uint64         `json:"stime"`
	Rtime         uint64         `json:"rtime"`
	Command       string         `json:"command"`
	Directory     string         `json:"directory"`
	Cpu           uint64         `json:"cpu"`
	Rss           uint64         `json:"rss"`
	ListenSockets []listenSocket `json:"listen_sockets"`
}

type listenSocket struct {
	Proto   string `json:"proto"`
	Address string `json:"address"`
}

// processStats reads /proc for every process of the machine's process group
// (the group led by pid): command, directory, memory and the TCP sockets it
// listens on. Host ports are shown as the internal ports they stand for
// (hostToInternal), so "127.0.0.1:8080" reads as it would inside the VM.
// Without /proc (not Linux) it returns the leader alone, without sockets.
func processStats(pid int, hostToInternal map[int]int) []processStat {
	listening := listeningSockets(hostToInternal)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []processStat{{Pid: int32(pid), ListenSockets: []listenSocket{}}}
	}
	var out []processStat
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" that closes the command name.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat)[i+1:])
		if len(f) < 22 {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		if pgrp != pid {
			continue
		}
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		rssPages, _ := strconv.ParseUint(f[21], 10, 64)
		ps := processStat{
			Pid: int32(p), Stime: stime, Rtime: utime + stime, Cpu: utime + stime,
			Rss: rssPages * uint64(os.Getpagesize()), ListenSockets: []listenSocket{},
		}
		if cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil {
			ps.Command = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		}
		ps.Directory, _ = os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok {
				if sock, ok := listening[strings.TrimSuffix(inode, "]")]; ok {
					ps.ListenSockets = append(ps.ListenSockets, sock)
				}
			}
		}
		out = append(out, ps)
	}
	if len(out) == 0 {
		out = append(out, processStat{Pid: int32(pid), ListenSockets: []listenSocket{}})
	}
	return out
}

// listeningSockets maps socket inodes to the TCP addresses listened on.
func listeningSockets(hostToInternal map[int]int) map[string]listenSocket {
	out := map[string]listenSocket{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			addr, port, ok := parseProcAddr(fields[1])
			if !ok {
				continue
			}
			if in, ok := hostToInternal[port]; ok {
				port = in
			}
			out[fields[9]] = listenSocket{Proto: "tcp", Address: net.JoinHostPort(addr, strconv.Itoa(port))}
		}
		_ = f.Close()
	}
	return out
}

// parseProcAddr reads "0100007F:1F90" (little-endian words) from /proc/net.
func parseProcAddr(s string) (string, int, bool) {
	host, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return "", 0, false
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", 0, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	if v4 := ip.To4(); v4 != nil && len(raw) == 16 && !ip.Equal(net.IPv6zero) {
		ip = v4
	}
	return ip.String(), int(port), true
}

// String returns "proto address" for messages.
func (l listenSocket) String() string { return fmt.Sprintf("%s %s", l.Proto, l.Address) }
