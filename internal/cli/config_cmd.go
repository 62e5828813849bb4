package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
)

type accountRow struct {
	Account
	Default bool `json:"default"`
}

func accountsView(cf *ConfigFile) list {
	l := list{Header: []string{"NAME", "ENDPOINT", "KEY", "ZONE", "DEFAULT"}, Empty: "no accounts: add one with `sos config add NAME --endpoint URL --key KEY --secret SECRET`"}
	rows := []accountRow{}
	for _, n := range cf.Names() {
		acc := cf.Accounts[n]
		def := n == cf.Default
		rows = append(rows, accountRow{Account: *acc, Default: def})
		mark := ""
		if def {
			mark = "*"
		}
		l.Rows = append(l.Rows, []string{n, acc.Endpoint, acc.Key, acc.Zone, mark})
	}
	l.JSON = rows
	return l
}

func (a *app) configCommand() *cobra.Command {
	add := &cobra.Command{
		Use:   "add NAME [--endpoint URL --key KEY --secret SECRET] [--zone ZONE] [--ca FILE]",
		Short: "add (or replace) an account with the given settings (flags, else SOS_* env)",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(a.io.Getenv)
			if err != nil {
				return err
			}
			cf, err := loadConfig(path)
			if err != nil {
				return err
			}
			// Only flags and env count here: not another account's values.
			s, err := Resolve(SettingsInput{Flags: Settings{Endpoint: a.flags.Endpoint, Key: a.flags.Key, Secret: a.flags.Secret, Zone: a.flags.Zone, CA: a.flags.CA}, Getenv: a.io.Getenv})
			if err != nil {
				return err
			}
			if err := s.check(); err != nil {
				return usageError{err}
			}
			name := args[0]
			if !bareKey(name) {
				return usagef("account name %q: use letters, digits, '-' and '_'", name)
			}
			ca := s.CA
			if ca != "" {
				// The file is read from wherever sos runs next.
				if ca, err = filepath.Abs(ca); err != nil {
					return err
				}
			}
			cf.Accounts[name] = &Account{Name: name, Endpoint: s.Endpoint, Key: s.Key, Secret: s.Secret, Zone: s.Zone, CA: ca}
			if cf.Default == "" {
				cf.Default = name
			}
			if err := saveConfig(path, cf); err != nil {
				return err
			}
			return a.show(message{Text: fmt.Sprintf("account %s saved in %s", name, path), JSON: accountRow{Account: *cf.Accounts[name], Default: cf.Default == name}})
		},
	}
	lst := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list the accounts of the config file",
		Args:    nargs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(a.io.Getenv)
			if err != nil {
				return err
			}
			cf, err := loadConfig(path)
			if err != nil {
				return err
			}
			return a.show(accountsView(cf))
		},
	}
	use := &cobra.Command{
		Use:   "use NAME",
		Short: "make an account the default",
		Args:  nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(a.io.Getenv)
			if err != nil {
				return err
			}
			cf, err := loadConfig(path)
			if err != nil {
				return err
			}
			if cf.Accounts[args[0]] == nil {
				return fmt.Errorf("no account %q in %s (see `sos config list`)", args[0], path)
			}
			cf.Default = args[0]
			if err := saveConfig(path, cf); err != nil {
				return err
			}
			return a.show(message{Text: "default account: " + args[0], JSON: map[string]string{"default": args[0]}})
		},
	}
	return group("config", "named accounts in the config file", add, lst, use)
}

func (a *app) completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "print a shell completion script",
		Args:      nargs(1, 1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			w := a.io.Stdout
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return usagef("unknown shell %q: bash, zsh, fish or powershell", args[0])
		},
	}
}
