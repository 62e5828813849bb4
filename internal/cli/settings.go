package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Account is one named set of settings in the config file.
type Account struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	Key      string `json:"key"`
	Secret   string `json:"-"`
	Zone     string `json:"zone,omitempty"`
	CA       string `json:"ca,omitempty"`
}

// ConfigFile is the CLI's config file: named accounts and the default one.
// It is TOML limited to what sos writes: a top-level `default = "NAME"` and
// `[accounts.NAME]` tables of string values.
type ConfigFile struct {
	Default  string
	Accounts map[string]*Account
}

// ParseConfig reads the TOML subset of the config file.
func ParseConfig(data []byte) (*ConfigFile, error) {
	cf := &ConfigFile{Accounts: map[string]*Account{}}
	var cur *Account
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(stripComment(sc.Text()))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: table header %q has no closing ]", n, line)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			rest, ok := strings.CutPrefix(name, "accounts.")
			if !ok || rest == "" {
				return nil, fmt.Errorf("line %d: unknown table [%s]: only [accounts.NAME] tables are allowed", n, name)
			}
			if uq, err := strconv.Unquote(rest); err == nil {
				rest = uq
			}
			if _, dup := cf.Accounts[rest]; dup {
				return nil, fmt.Errorf("line %d: account %q is defined twice", n, rest)
			}
			cur = &Account{Name: rest}
			cf.Accounts[rest] = cur
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected key = \"value\", got %q", n, line)
		}
		k = strings.TrimSpace(k)
		val, err := strconv.Unquote(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("line %d: the value of %s must be a quoted string", n, k)
		}
		if cur == nil {
			if k != "default" {
				return nil, fmt.Errorf("line %d: unknown setting %q outside [accounts.NAME]", n, k)
			}
			cf.Default = val
			continue
		}
		switch k {
		case "endpoint":
			cur.Endpoint = val
		case "key":
			cur.Key = val
		case "secret":
			cur.Secret = val
		case "zone":
			cur.Zone = val
		case "ca":
			cur.CA = val
		default:
			return nil, fmt.Errorf("line %d: unknown account setting %q (endpoint, key, secret, zone, ca)", n, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cf.Default != "" && cf.Accounts[cf.Default] == nil {
		return nil, fmt.Errorf("default account %q is not defined", cf.Default)
	}
	return cf, nil
}

func stripComment(line string) string {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				return line[:i]
			}
		}
	}
	return line
}

// Names returns the account names, sorted.
func (cf *ConfigFile) Names() []string {
	names := make([]string, 0, len(cf.Accounts))
	for n := range cf.Accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Marshal writes the config file back in the same TOML subset.
func (cf *ConfigFile) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# sos CLI settings: `sos config add/list/use` edits this file.\n")
	if cf.Default != "" {
		fmt.Fprintf(&b, "default = %s\n", strconv.Quote(cf.Default))
	}
	for _, n := range cf.Names() {
		a := cf.Accounts[n]
		name := n
		if !bareKey(n) {
			name = strconv.Quote(n)
		}
		fmt.Fprintf(&b, "\n[accounts.%s]\n", name)
		for _, kv := range [][2]string{{"endpoint", a.Endpoint}, {"key", a.Key}, {"secret", a.Secret}, {"zone", a.Zone}, {"ca", a.CA}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "%s = %s\n", kv[0], strconv.Quote(kv[1]))
			}
		}
	}
	return b.Bytes()
}

func bareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// configPath is $SOS_CONFIG or ~/.config/sos/config.toml.
func configPath(getenv func(string) string) (string, error) {
	if p := getenv("SOS_CONFIG"); p != "" {
		return p, nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the config file: set SOS_CONFIG or HOME")
		}
		home = h
	}
	return filepath.Join(home, ".config", "sos", "config.toml"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig(path string) (*ConfigFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &ConfigFile{Accounts: map[string]*Account{}}, nil
	}
	if err != nil {
		return nil, err
	}
	cf, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return cf, nil
}

func saveConfig(path string, cf *ConfigFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.toml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(cf.Marshal()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Settings are the resolved connection settings of one invocation.
type Settings struct {
	Endpoint string
	Key      string
	Secret   string
	Zone     string
	// CA is the PEM bundle of CAs the CLI verifies servers against; empty
	// means the system roots.
	CA      string
	Account string // config account used, "" when none
}

// SettingsInput is what Resolve combines: flag values ("" when not given),
// the environment and the config file.
type SettingsInput struct {
	Flags   Settings // Account here is the --account flag
	Getenv  func(string) string
	Config  *ConfigFile
	Command string // for error messages
}

// Resolve applies the precedence flags > env SOS_* > config file account
// (--account, else the file's default, else the only account).
func Resolve(in SettingsInput) (Settings, error) {
	var acc *Account
	if in.Config != nil {
		name := in.Flags.Account
		if name == "" {
			name = in.Getenv("SOS_ACCOUNT")
		}
		switch {
		case name != "":
			acc = in.Config.Accounts[name]
			if acc == nil {
				return Settings{}, fmt.Errorf("no account %q in the config file (see `sos config list`)", name)
			}
		case in.Config.Default != "":
			acc = in.Config.Accounts[in.Config.Default]
		case len(in.Config.Accounts) == 1:
			for _, a := range in.Config.Accounts {
				acc = a
			}
		}
	}
	if acc == nil {
		acc = &Account{}
	}
	pick := func(flag, env, file string) string {
		if flag != "" {
			return flag
		}
		if v := in.Getenv(env); v != "" {
			return v
		}
		return file
	}
	s := Settings{
		Endpoint: pick(in.Flags.Endpoint, "SOS_API_ENDPOINT", acc.Endpoint),
		Key:      pick(in.Flags.Key, "SOS_API_KEY", acc.Key),
		Secret:   pick(in.Flags.Secret, "SOS_API_SECRET", acc.Secret),
		Zone:     pick(in.Flags.Zone, "SOS_ZONE", acc.Zone),
		CA:       pick(in.Flags.CA, "SOS_CA_BUNDLE", acc.CA),
		Account:  acc.Name,
	}
	s.Endpoint = strings.TrimSuffix(strings.TrimSuffix(s.Endpoint, "/"), "/v2")
	return s, nil
}

// check says what is missing before a command talks to the server.
func (s Settings) check() error {
	var missing []string
	if s.Endpoint == "" {
		missing = append(missing, "API endpoint (--endpoint or SOS_API_ENDPOINT)")
	}
	if s.Key == "" {
		missing = append(missing, "API key (--key or SOS_API_KEY)")
	}
	if s.Secret == "" {
		missing = append(missing, "API secret (--secret or SOS_API_SECRET)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("no %s: set them, or add an account with `sos config add` (`sosd dev` prints the line to use)", strings.Join(missing, ", "))
	}
	return nil
}
