# METADATA
# title: Cross-agent propagation (AARM T7)
# description: |
#   Trust does not pass through an unbounded chain of agents acting for one another.
#   policy_id "delegation-depth", context priority 50.
#
#     - a delegation chain (input.identity.delegation: the token's "act" chain,
#       outermost first) longer than data.aarm.config.max_delegation_depth (a whole
#       number of at least 0; default 3) -> STEP_UP (approvers ["security"]), risk
#       MEDIUM, on a tool whose baseline lets the call through; the reason names the
#       chain. A chain that is not an array says nothing here (the service builds it
#       from a verified token, which refuses a malformed one).
#
#   What one agent's output makes another do is judged as untrusted content: the flow
#   treats another agent's output (tools whose name has an "agent" segment, or
#   "result_trust": "untrusted") as untrusted, so a high-impact action whose key
#   value came from it is malicious_output's (T11), and instructions in it are
#   prompt_injection's (T1). No rule here repeats them.
# custom:
#   threat: T7
#   aarm_control: R6 identity binding (delegation chain) with a transitive trust limit; R4 STEP_UP
package aarm.rules.cross_agent

import data.aarm

default max_depth := 3

max_depth := n if {
	n := data.aarm.config.max_delegation_depth
	aarm.whole(n)
	n >= 0
}

# link(l): how the reason names one link of the chain.
link(l) := l.sub if is_string(l.sub)

else := "?"

findings contains {
	"approvers": ["security"],
	"effect": "STEP_UP",
	"policy_id": "delegation-depth",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"agent ", agent, " acts through a delegation chain of ", format_int(count(chain), 10),
		" (", concat(" -> ", [link(l) | some l in chain]), "), more than the ",
		format_int(max_depth, 10), " allowed: confirm that the first of them asked for this",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	chain := input.identity.delegation
	is_array(chain)
	count(chain) > max_depth
}

agent := a if {
	a := input.identity.agent
	is_string(a)
} else := "?"
