// A PROXY protocol peer built on pires/go-proxyproto (Debian's golang-github-pires-go-proxyproto-dev,
// 0.4.2), for proxyproto's interop tests. Built offline in GOPATH mode by test/helpers/go-peer.ts.
//
//	send-tcp  -addr HOST:PORT -version 1|2 -src IP:PORT -dst IP:PORT [-tlv 0xTT=HEX]... [-local IP] -payload S
//	          connects, writes the header and the payload, half-closes, prints what comes back
//	recv-tcp  -listen HOST:PORT   prints "listening on ADDR", reads one connection's header with Read(),
//	          then its bytes to EOF, prints them as one JSON object
//	parse     reads hex on stdin, parses it with Read(), prints the header as JSON
//	send-udp  -addr HOST:PORT -src IP:PORT -dst IP:PORT [-local IP] [-first] -payload S -count N
//	          sends N datagrams, each with a v2 DGRAM header (only the first with -first), prints each reply
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

type tlvFlags []string

func (t *tlvFlags) String() string     { return strings.Join(*t, ",") }
func (t *tlvFlags) Set(v string) error { *t = append(*t, v); return nil }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func parseTLVs(flags tlvFlags) []proxyproto.TLV {
	var tlvs []proxyproto.TLV
	for _, f := range flags {
		parts := strings.SplitN(f, "=", 2)
		if len(parts) != 2 {
			fail(fmt.Errorf("bad -tlv %q", f))
		}
		t, err := strconv.ParseUint(parts[0], 0, 8)
		if err != nil {
			fail(err)
		}
		v, err := hex.DecodeString(parts[1])
		if err != nil {
			fail(err)
		}
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.PP2Type(t), Value: v})
	}
	return tlvs
}

type tlvJSON struct {
	Type  int    `json:"type"`
	Value string `json:"hex"`
}

type headerJSON struct {
	Version     int       `json:"version"`
	Command     string    `json:"command"`
	Transport   string    `json:"transport"`
	Source      string    `json:"source,omitempty"`
	Destination string    `json:"destination,omitempty"`
	TLVs        []tlvJSON `json:"tlvs"`
	Rest        string    `json:"rest"`
	Error       string    `json:"error,omitempty"`
}

func transportName(ap proxyproto.AddressFamilyAndProtocol) string {
	switch ap {
	case proxyproto.TCPv4:
		return "TCPv4"
	case proxyproto.TCPv6:
		return "TCPv6"
	case proxyproto.UDPv4:
		return "UDPv4"
	case proxyproto.UDPv6:
		return "UDPv6"
	case proxyproto.UnixStream:
		return "UnixStream"
	case proxyproto.UnixDatagram:
		return "UnixDatagram"
	}
	return "UNSPEC"
}

func describe(h *proxyproto.Header, rest []byte) headerJSON {
	out := headerJSON{Version: int(h.Version), Transport: transportName(h.TransportProtocol), TLVs: []tlvJSON{}, Rest: string(rest)}
	if h.Command.IsLocal() {
		out.Command = "LOCAL"
	} else {
		out.Command = "PROXY"
	}
	if h.SourceAddr != nil {
		out.Source = h.SourceAddr.String()
	}
	if h.DestinationAddr != nil {
		out.Destination = h.DestinationAddr.String()
	}
	tlvs, err := h.TLVs()
	if err != nil {
		out.Error = err.Error()
	}
	for _, t := range tlvs {
		out.TLVs = append(out.TLVs, tlvJSON{Type: int(t.Type), Value: hex.EncodeToString(t.Value)})
	}
	return out
}

func print(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func header(version int, transport string, src, dst string, tlvs []proxyproto.TLV) *proxyproto.Header {
	var h *proxyproto.Header
	if transport == "udp" {
		s, err := net.ResolveUDPAddr("udp", src)
		if err != nil {
			fail(err)
		}
		d, err := net.ResolveUDPAddr("udp", dst)
		if err != nil {
			fail(err)
		}
		h = proxyproto.HeaderProxyFromAddrs(byte(version), s, d)
	} else {
		s, err := net.ResolveTCPAddr("tcp", src)
		if err != nil {
			fail(err)
		}
		d, err := net.ResolveTCPAddr("tcp", dst)
		if err != nil {
			fail(err)
		}
		h = proxyproto.HeaderProxyFromAddrs(byte(version), s, d)
	}
	if len(tlvs) > 0 {
		if err := h.SetTLVs(tlvs); err != nil {
			fail(err)
		}
	}
	return h
}

func sendTCP(args []string) {
	fs := flag.NewFlagSet("send-tcp", flag.ExitOnError)
	addr := fs.String("addr", "", "")
	version := fs.Int("version", 2, "")
	src := fs.String("src", "", "")
	dst := fs.String("dst", "", "")
	local := fs.String("local", "", "")
	payload := fs.String("payload", "", "")
	var tlvs tlvFlags
	fs.Var(&tlvs, "tlv", "")
	fs.Parse(args)
	dialer := net.Dialer{Timeout: 5 * time.Second}
	if *local != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(*local)}
	}
	conn, err := dialer.Dial("tcp", *addr)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	if _, err := header(*version, "tcp", *src, *dst, parseTLVs(tlvs)).WriteTo(conn); err != nil {
		fail(err)
	}
	if _, err := conn.Write([]byte(*payload)); err != nil {
		fail(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, _ := ioutil.ReadAll(conn)
	os.Stdout.Write(reply)
}

func recvTCP(args []string) {
	fs := flag.NewFlagSet("recv-tcp", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "")
	fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr().String())
	conn, err := ln.Accept()
	if err != nil {
		fail(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	h, err := proxyproto.Read(r)
	if err != nil {
		print(headerJSON{Error: err.Error(), TLVs: []tlvJSON{}})
		os.Exit(0)
	}
	rest, _ := ioutil.ReadAll(r)
	conn.Write([]byte("ok\n"))
	conn.Close()
	print(describe(h, rest))
}

func parse() {
	text, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		fail(err)
	}
	r := bufio.NewReader(strings.NewReader(string(raw)))
	h, err := proxyproto.Read(r)
	if err != nil {
		print(headerJSON{Error: err.Error(), TLVs: []tlvJSON{}})
		return
	}
	rest, _ := ioutil.ReadAll(r)
	print(describe(h, rest))
}

func sendUDP(args []string) {
	fs := flag.NewFlagSet("send-udp", flag.ExitOnError)
	addr := fs.String("addr", "", "")
	src := fs.String("src", "", "")
	dst := fs.String("dst", "", "")
	local := fs.String("local", "", "")
	first := fs.Bool("first", false, "")
	payload := fs.String("payload", "", "")
	count := fs.Int("count", 1, "")
	var tlvs tlvFlags
	fs.Var(&tlvs, "tlv", "")
	fs.Parse(args)
	raddr, err := net.ResolveUDPAddr("udp", *addr)
	if err != nil {
		fail(err)
	}
	var laddr *net.UDPAddr
	if *local != "" {
		laddr = &net.UDPAddr{IP: net.ParseIP(*local)}
	}
	conn, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	h, err := header(2, "udp", *src, *dst, parseTLVs(tlvs)).Format()
	if err != nil {
		fail(err)
	}
	buf := make([]byte, 65536)
	for i := 0; i < *count; i++ {
		datagram := []byte(fmt.Sprintf("%s %d", *payload, i))
		if i == 0 || !*first {
			datagram = append(append([]byte{}, h...), datagram...)
		}
		if _, err := conn.Write(datagram); err != nil {
			fail(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			fail(err)
		}
		fmt.Println(string(buf[:n]))
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: go-peer send-tcp|recv-tcp|parse|send-udp ..."))
	}
	switch os.Args[1] {
	case "send-tcp":
		sendTCP(os.Args[2:])
	case "recv-tcp":
		recvTCP(os.Args[2:])
	case "parse":
		parse()
	case "send-udp":
		sendUDP(os.Args[2:])
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
