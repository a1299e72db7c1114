/**
 * The FTP replies Fulcrum itself writes to clients, each telling the user what happened and what to
 * do. 421 closes the session (RFC 959: "service not available, closing control connection").
 */

export const REPLY_TOO_MANY = '421 Too many connections, try later\r\n';
export const REPLY_NO_SERVER = '421 Service not available (no real server)\r\n';
export const REPLY_UNREACHABLE = '421 Service not available (real server unreachable)\r\n';
export const REPLY_ACTIVE_REFUSED = '502 Active mode (PORT/EPRT) is not supported through this load balancer; use passive mode (PASV/EPSV)\r\n';
export const REPLY_LONG_ADDRESS_REFUSED = '502 LPRT and LPSV are not supported through this load balancer; use PASV or EPSV\r\n';
export const REPLY_AUTH_REFUSED = '534 TLS is not available in this mode (ftp.mode: alg); use ftp.mode: port-following for FTPS\r\n';
export const REPLY_NO_PASSIVE_PORT = "425 Can't open data connection: no free passive port\r\n";
export const REPLY_PASV_NEEDS_IPV4 = "425 Can't open data connection: PASV cannot name an IPv6 address; use EPSV\r\n";
export const REPLY_NO_ACTIVE_PORT = "425 Can't open data connection: the load balancer could not open a port for active mode\r\n";
export const REPLY_BAD_PORT = '501 Syntax error in PORT/EPRT parameters\r\n';
export const REPLY_PORT_NOT_CLIENT = "500 Illegal PORT command: the address must be the client's own\r\n";
export const REPLY_LINE_TOO_LONG = '500 Command line too long\r\n';
export const REPLY_TOO_MANY_COMMANDS = '421 Too many commands without an answer; closing the control connection\r\n';
export const REPLY_NOT_FTP = '500 Syntax error, command unrecognized\r\n';
export const REPLY_SHUTTING_DOWN = '421 Service shutting down, try again later\r\n';
