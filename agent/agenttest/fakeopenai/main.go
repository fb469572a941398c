// Command fakeopenai serves the agenttest fake of the OpenAI API with
// its deterministic demo policy, so that `reviewer chat` and `reviewer
// serve` can be run end to end where no model is available:
//
//	go run ./agent/agenttest/fakeopenai -addr 127.0.0.1:8089 &
//	PGAI_OPENAI_BASE_URL=http://127.0.0.1:8089/v1 PGAI_OPENAI_MODEL=fake reviewer chat
//
// It is not a language model: its answers quote tool results mechanically
// and say so.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gitlab.com/pgai/reviewer/agent/agenttest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "address to listen on")
	flag.Parse()
	s := agenttest.NewServer()
	s.Close() // only its handler is used, on the address asked for
	s.SetPolicy(agenttest.DemoPolicy)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeopenai:", err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: s.Config.Handler, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("fake OpenAI-compatible API (agenttest demo policy, not an LLM) at http://%s/v1\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}
