package core

import (
	"bytes"
	"testing"
)

func TestSendBufferAckAndWrap(t *testing.T) {
	var s sendBuffer
	first := uint64(1<<64 - 10) // wraps during the test
	s.init(first, 100)
	if n := s.write(bytes.Repeat([]byte{'a'}, 150)); n != 100 {
		t.Fatalf("write took %d bytes, want the 100 that fit", n)
	}
	if s.free() != 0 || s.unsent() != 100 {
		t.Fatalf("free %d unsent %d", s.free(), s.unsent())
	}
	s.nxt = first + 40 // 40 bytes sent
	if n := s.ack(first + 50); n != 0 {
		t.Fatalf("ACK beyond what was sent acknowledged %d bytes", n)
	}
	if n := s.ack(first + 30); n != 30 || s.una != first+30 {
		t.Fatalf("ack = %d, una %#x", n, s.una)
	}
	if n := s.ack(first + 20); n != 0 {
		t.Fatal("old ACK acknowledged bytes")
	}
	if got, _ := s.bytes(first+30, 5); len(got) != 5 {
		t.Fatalf("bytes after una: %d", len(got))
	}
	if a, _ := s.bytes(first+29, 5); a != nil {
		t.Fatal("bytes before una returned")
	}
	if a, _ := s.bytes(s.end(), 1); a != nil {
		t.Fatal("bytes outside [una, end) returned")
	}
	s.rewind(first + 10) // before una: clamps
	if s.nxt != first+30 {
		t.Fatalf("rewind below una: nxt %#x", s.nxt)
	}
}

func TestSendBufferDataFIN(t *testing.T) {
	var s sendBuffer
	s.init(1000, 64)
	s.write([]byte("hello"))
	s.finQueued = true
	if s.write([]byte("x")) != 0 {
		t.Fatal("write after close accepted")
	}
	s.nxt = s.end()
	if s.ack(1006); s.finAcked {
		t.Fatal("DATA_FIN acknowledged before it was sent")
	}
	if s.una != 1000 {
		t.Fatalf("ACK covering an unsent DATA_FIN moved una to %d", s.una)
	}
	s.finSent = true
	if n := s.ack(1006); n != 5 || !s.finAcked {
		t.Fatalf("ack = %d, finAcked %v", n, s.finAcked)
	}
}
