/**
 * Agents for adaptive scheduling, polled by the control plane (see monitor.ts): KEMP
 * LoadMaster's HTTP load agent and HAProxy's agent-check. What the supervisor and the admin API
 * use; the workers apply the verdicts through src/scheduling/adaptive.ts.
 */
export { applyAgentReply, parseAgentReply } from './agent-reply.ts';
export { applyLoadReading, LOAD_DISABLED, LOAD_DOWN, parseLoadReply } from './load-reply.ts';
export { AgentMonitor, type AgentMonitorEvents, type AgentMonitorOptions } from './monitor.ts';
export { type AgentProbe, agentTarget, describeAgent, pollAgent } from './probe.ts';
export type {
  AgentAdmin,
  AgentOperational,
  AgentReply,
  AgentReport,
  AgentStatus,
  AgentVerdict,
  LastPoll,
  LoadReading,
  PollResult,
  ServerAgentStatus,
} from './types.ts';
export { NEUTRAL_VERDICT } from './types.ts';
