package nativeserver

import (
	"bufio"
	"net"
	"syscall"
)

// readerSize matches ch-go's proto.Reader buffer, so proto.NewReader
// reuses the session's bufio.Reader instead of wrapping it in another, and
// the session can see what is buffered.
const readerSize = 128 * 1024

func newInput(conn net.Conn) *bufio.Reader { return bufio.NewReaderSize(conn, readerSize) }

// inputWaiting reports, without blocking, whether the client sent anything
// not yet read: bytes buffered in in, or bytes (or the end of the stream)
// waiting in the socket. A real server learns of a Cancel asynchronously;
// waiting here with a read deadline would add that wait to every statement.
func inputWaiting(in *bufio.Reader, conn net.Conn) bool {
	if in.Buffered() > 0 {
		return true
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	waiting := false
	var peek [1]byte
	_ = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n > 0: a packet arrived; n == 0 with no error: the client closed;
		// EAGAIN: nothing yet. Returning true never waits for readability.
		waiting = err == nil && n >= 0
		return true
	})
	return waiting
}
