// Go provoker: each mode prints one real error the way a Go tool logs it (log.Fatal).
package main

import (
	"context"
	"encoding/json"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

func main() {
	log.SetFlags(0)
	mode, arg := os.Args[1], ""
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	var err error
	switch mode {
	case "get":
		_, err = http.Get(arg)
	case "get-timeout":
		_, err = (&http.Client{Timeout: 300 * time.Millisecond}).Get(arg)
	case "canceled":
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", arg, nil)
		_, err = http.DefaultClient.Do(req)
	case "dial-timeout":
		_, err = net.DialTimeout("tcp", arg, 300*time.Millisecond)
	case "read":
		_, err = os.ReadFile("/var/lib/agent/config.json")
	case "exec":
		err = exec.Command("helmfile", "apply").Run()
	case "exit":
		err = exec.Command("ls", "/var/lib/agent/outputs").Run()
	case "json":
		var v map[string]any
		err = json.Unmarshal([]byte("Sure! Here is the JSON: {}"), &v)
	}
	if err != nil {
		log.Fatal(err)
	}
}
