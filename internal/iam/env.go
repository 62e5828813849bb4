package iam

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// The CEL variables a policy expression may use. They are the same for every
// service; sos only fills them for "sos".
const (
	VarOperation  = "operation"  // string: S3 operation in kebab-case, e.g. "get-object"
	VarParameters = "parameters" // map(string, string): for sos "bucket", "key", "prefix", "version-id"; for iam "role-id", "role-name", "key", "name"; where they apply
	VarZone       = "zone"       // string: the zone that serves the request, e.g. "ch-dk-2"
	VarSourceIP   = "source_ip"  // string: the client's IP address
	VarAPIKey     = "api_key"    // string: the access key that signed the request
	VarNow        = "now"        // timestamp: the time of the request (timestamp(now) also works, as on Exoscale)
	VarService    = "service"    // string: the service class in scope, e.g. "sos"
)

// Limits that keep a hostile or careless policy from costing much, at write time
// and on every request.
const (
	// MaxPolicySize is the largest policy document ParsePolicy accepts, in bytes.
	MaxPolicySize = 64 << 10
	// MaxExpressionSize is the largest expression, in code points.
	MaxExpressionSize = 4096
	// maxEvalCost bounds the runtime cost of one expression: past it the
	// evaluation errors, and the rule counts as not matching.
	maxEvalCost = 100_000
)

// celEnv is built once and never changed afterwards: a cel.Env is immutable
// and safe for concurrent use, so sharing it is not shared mutable state.
var celEnv = sync.OnceValues(newCELEnv)

func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(VarOperation, cel.StringType),
		cel.Variable(VarParameters, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarZone, cel.StringType),
		cel.Variable(VarSourceIP, cel.StringType),
		cel.Variable(VarAPIKey, cel.StringType),
		cel.Variable(VarNow, cel.TimestampType),
		cel.Variable(VarService, cel.StringType),
		ext.Strings(),
		cel.Function("inIpRange",
			cel.MemberOverload("string_in_ip_range_string",
				[]*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(inIPRange))),
		cel.ParserExpressionSizeLimit(MaxExpressionSize),
		cel.ParserRecursionLimit(100),
	)
}

// inIPRange implements source_ip.inIpRange('10.0.0.0/8') as Exoscale has it:
// true when the address lies in the CIDR prefix. A malformed address or prefix
// is an evaluation error (so the rule does not match).
func inIPRange(lhs, rhs ref.Val) ref.Val {
	ipStr, ok := lhs.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(lhs)
	}
	cidr, ok := rhs.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(rhs)
	}
	addr, err := netip.ParseAddr(string(ipStr))
	if err != nil {
		return types.NewErr("inIpRange: invalid IP address %q", string(ipStr))
	}
	prefix, err := netip.ParsePrefix(string(cidr))
	if err != nil {
		return types.NewErr("inIpRange: invalid CIDR %q", string(cidr))
	}
	return types.Bool(prefix.Contains(addr.Unmap()) || prefix.Contains(addr))
}

// compiled is one compiled rule expression.
type compiled struct {
	prg cel.Program
	// canonical is the expression as CEL prints it back (spacing and
	// redundant parentheses normalized), to tell equal expressions apart
	// from different ones when policies are compared (Exceeds).
	canonical string
	// usesAPIKey: the expression reads api_key, so it decides differently
	// for different keys of one role.
	usesAPIKey bool
}

// compileExpression checks one rule expression and returns its program.
// field names the rule in errors.
func compileExpression(field, src string) (compiled, error) {
	env, err := celEnv()
	if err != nil {
		return compiled{}, fmt.Errorf("iam: building CEL environment: %w", err)
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		errs := iss.Errors()
		if len(errs) == 0 {
			return compiled{}, &PolicyError{Field: field, Msg: iss.Err().Error()}
		}
		first := errs[0]
		pe := &PolicyError{Field: field, Msg: first.Message}
		if loc := first.Location; loc != nil && loc.Line() > 0 {
			pe.Line, pe.Column = loc.Line(), loc.Column()+1
		}
		return compiled{}, pe
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return compiled{}, &PolicyError{Field: field, Msg: fmt.Sprintf("expression must be bool, not %s", ast.OutputType())}
	}
	// Every program tracks its runtime cost: comprehensions (all, exists,
	// map...) multiply it, and so do string functions without them (each
	// replace can multiply a string's length), so no expression is exempt.
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(maxEvalCost))
	if err != nil {
		return compiled{}, &PolicyError{Field: field, Msg: err.Error()}
	}
	c := compiled{prg: prg, canonical: strings.TrimSpace(src)}
	if s, err := cel.AstToString(ast); err == nil {
		c.canonical = s
	}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if ref.Name == VarAPIKey {
			c.usesAPIKey = true
		}
	}
	return c, nil
}
