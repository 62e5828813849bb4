package repltest

import (
	"io"
	"net"
	"sync"
)

// Mode is what a FaultProxy does with connections.
type Mode int

const (
	// Pass forwards connections to the backend.
	Pass Mode = iota
	// Refuse accepts and at once closes connections (the client sees a
	// reset or EOF), as a zone that is down.
	Refuse
	// Blackhole accepts connections and never answers, as a partition
	// that drops packets: clients run into their timeouts.
	Blackhole
)

// FaultProxy is a TCP proxy to one backend address whose behaviour can be
// switched at any time. Switching away from Pass cuts the connections in
// progress; switching away from Blackhole cuts the connections it held.
type FaultProxy struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	mode  Mode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewFaultProxy listens on 127.0.0.1 and forwards to backend (host:port).
func NewFaultProxy(backend string) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's http:// URL.
func (p *FaultProxy) URL() string { return "http://" + p.Addr() }

// SetMode switches the proxy's behaviour.
func (p *FaultProxy) SetMode(m Mode) {
	p.mu.Lock()
	prev := p.mode
	p.mode = m
	var cut []net.Conn
	// Leaving Blackhole releases the connections it held (their clients
	// see them reset, as after a partition that outlived TCP's patience).
	if m != Pass || prev == Blackhole {
		for c := range p.conns {
			cut = append(cut, c)
		}
		p.conns = map[net.Conn]struct{}{}
	}
	p.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

// Close stops the proxy and cuts every connection.
func (p *FaultProxy) Close() error {
	err := p.ln.Close()
	p.SetMode(Refuse)
	p.wg.Wait()
	return err
}

func (p *FaultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != Pass {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *FaultProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == Blackhole {
			p.conns[c] = struct{}{} // held open, silent, until the mode changes
		}
		p.mu.Unlock()
		switch mode {
		case Refuse:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST
			}
			c.Close()
		case Blackhole:
			go func() { _, _ = io.Copy(io.Discard, c) }()
		case Pass:
			p.wg.Add(1)
			go p.forward(c)
		}
	}
}

func (p *FaultProxy) forward(c net.Conn) {
	defer p.wg.Done()
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c) || !p.track(b) {
		c.Close()
		b.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}
