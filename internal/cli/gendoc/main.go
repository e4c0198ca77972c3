// Command gendoc writes vipd's man pages and shell completion scripts, for
// packaging (make man, make deb); it is not installed.
//
//	go run ./internal/cli/gendoc -man DIR -completion DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vipd/vipd/internal/cli"
)

func main() {
	man := flag.String("man", "", "write the man pages (section 8) into `DIR`")
	comp := flag.String("completion", "", "write the bash, zsh and fish completions into `DIR`")
	flag.Parse()
	if flag.NArg() > 0 || (*man == "" && *comp == "") {
		fmt.Fprintln(os.Stderr, "usage: gendoc [-man DIR] [-completion DIR]")
		os.Exit(2)
	}
	if *man != "" {
		if err := cli.WriteManPages(*man); err != nil {
			fmt.Fprintln(os.Stderr, "gendoc:", err)
			os.Exit(1)
		}
	}
	if *comp != "" {
		if err := cli.WriteCompletions(*comp); err != nil {
			fmt.Fprintln(os.Stderr, "gendoc:", err)
			os.Exit(1)
		}
	}
}
