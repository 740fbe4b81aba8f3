// Package pins reads .env, the one place the project pins its images:
// lines NAME=${NAME:-repository:tag}.
package pins

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

var line = regexp.MustCompile(`^([A-Z_]+)=\$\{[A-Z_]+:-([^}]+)\}$`)

// Read returns the pins of the .env file at path. With getenv, a variable set
// in the environment wins, as it does for compose and the scripts.
func Read(path string, getenv func(string) string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pins := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("%s: %q is not NAME=${NAME:-image:tag}", path, l)
		}
		pins[m[1]] = m[2]
		if getenv != nil && getenv(m[1]) != "" {
			pins[m[1]] = getenv(m[1])
		}
	}
	return pins, sc.Err()
}
