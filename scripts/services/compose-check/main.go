// compose-check validates a Compose file without Docker, as `docker compose` would read it, plus
// the rules Parley's local-dev/compose.yaml keeps. Built and run by scripts/lib/compose.sh:
//
//	compose-check local-dev/compose.yaml
//
// It loads the file with compose-go (the library Docker Compose itself uses) twice, with nothing
// in the environment so every `${VAR:-default}` takes its default: once with no profile (what
// `docker compose up` starts) and once with every profile. Each load validates against the
// Compose specification's JSON schema (an unknown key such as `imagee:` fails), interpolates, and
// checks consistency (an undefined volume or network, a dependency on a service that a profile
// leaves out). Then, for every service:
//
//   - the image names a tag other than `latest`, or a digest, so a pull is repeatable;
//   - every published port is bound to 127.0.0.1, and a service on the host's network publishes
//     none (Docker would ignore them);
//   - a healthcheck is declared, so `docker compose up --wait` returns once the stack is usable;
//   - every variable the file reads has a default, so the file loads with nothing set.
//
// Each problem is printed on its own line; the exit status is 1 when there is any.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v4"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check COMPOSE_FILE")
		os.Exit(2)
	}
	file := os.Args[1]
	// compose-go logs a warning for each unset variable; unsetVariables reports those once.
	logrus.SetLevel(logrus.ErrorLevel)
	problems, err := check(file)
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "%s: %s\n", file, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func check(file string) ([]string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	content, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	var problems []string
	defaults, err := unsetVariables(content)
	if err != nil {
		return nil, err
	}
	problems = append(problems, defaults...)

	// With no profile: what `docker compose up` starts must stand on its own.
	if _, err := load(abs, content, nil); err != nil {
		return append(problems, "without profiles: "+explain(err)), nil
	}
	all, err := load(abs, content, []string{"*"})
	if err != nil {
		return append(problems, "with every profile: "+explain(err)), nil
	}
	names := make([]string, 0, len(all.Services))
	for name := range all.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, p := range checkService(all.Services[name]) {
			problems = append(problems, fmt.Sprintf("services.%s: %s", name, p))
		}
	}
	return problems, nil
}

// load reads the file as `docker compose --profile ...` would, in an empty environment.
func load(path string, content []byte, profiles []string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: content}},
		Environment: types.Mapping{},
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.Profiles = profiles
		// Relative bind sources resolve against the file's folder, as Compose does; whether
		// they exist (a rendered nginx config, certificates) is Docker's to report at `up`.
		o.ResolvePaths = true
	})
}

// explain words the schema's refusal of an unknown key ("services.redis.imagee false schema").
func explain(err error) string {
	msg := strings.ReplaceAll(err.Error(), " false schema", ": not a key the Compose specification knows")
	return strings.ReplaceAll(msg, "\n\n", "\n")
}

func checkService(s types.ServiceConfig) []string {
	var problems []string
	if p := checkImage(s.Image); p != "" {
		problems = append(problems, p)
	}
	if s.NetworkMode == "host" && len(s.Ports) > 0 {
		problems = append(problems, "network_mode: host publishes no ports (Docker ignores them); the service listens on the host directly")
	}
	for _, port := range s.Ports {
		if port.Published == "" {
			problems = append(problems, fmt.Sprintf("port %d is published on a random host port; name one, bound to 127.0.0.1", port.Target))
		} else if port.HostIP != "127.0.0.1" {
			host := port.HostIP
			if host == "" {
				host = "every interface"
			}
			problems = append(problems, fmt.Sprintf("port %s:%d is bound to %s, not 127.0.0.1", port.Published, port.Target, host))
		}
	}
	if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Test[0] == "NONE" {
		problems = append(problems, "no healthcheck: `docker compose up --wait` could return before it is usable")
	}
	return problems
}

// checkImage says what is wrong with an image reference, or nothing.
func checkImage(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return fmt.Sprintf("image %q: %v", image, err)
	}
	if _, ok := ref.(reference.Digested); ok {
		return ""
	}
	tagged, ok := ref.(reference.Tagged)
	if !ok {
		return fmt.Sprintf("image %q has no tag: pin one (it would pull whatever `latest` is that day)", image)
	}
	if tagged.Tag() == "latest" {
		return fmt.Sprintf("image %q: pin a version rather than `latest`", image)
	}
	return ""
}

// unsetVariables lists the variables the file reads without a default: with them unset, Compose
// substitutes an empty string (or stops, for `${VAR:?}`) for every profile alike.
func unsetVariables(content []byte) ([]string, error) {
	var model map[string]any
	if err := yaml.Unmarshal(content, &model); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if model == nil {
		return nil, errors.New("empty file")
	}
	var problems []string
	for name, v := range template.ExtractVariables(model, template.DefaultPattern) {
		if v.Required {
			problems = append(problems, fmt.Sprintf("${%s} is required: the file no longer loads without it, whichever profile is used; give it a default", name))
		} else if v.DefaultValue == "" && v.PresenceValue == "" {
			problems = append(problems, fmt.Sprintf("${%s} has no default: unset, it reads as an empty string; write ${%s:-value}", name, name))
		}
	}
	sort.Strings(problems)
	return problems, nil
}
