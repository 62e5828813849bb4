package cli

import (
	"github.com/spf13/cobra"
)

func zonesView(zs []zoneInfo) list {
	l := list{Header: []string{"NAME", "API ENDPOINT", "S3 ENDPOINT"}, JSON: zs, Empty: "no zones"}
	if zs == nil {
		l.JSON = []zoneInfo{}
	}
	for _, z := range zs {
		l.Rows = append(l.Rows, []string{z.Name, z.APIEndpoint, z.SOSEndpoint})
	}
	return l
}

func (a *app) zoneCommand() *cobra.Command {
	return group("zone", "zones and their endpoints", &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list zones with their API and S3 endpoints",
		Args:    nargs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			zs, err := a.zones(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(zonesView(zs))
		},
	})
}
