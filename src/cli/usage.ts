/**
 * The text of `fulcrum --help`, and of every usage error after its reason.
 */
export const USAGE = `Usage: fulcrum <command> -c FILE [options]
       fulcrum <api command> [--admin URL] [--token TOKEN] [--json]

Config file:
  check -c FILE        Validate a config file and report every problem with its line
                       (exit 0 valid, 1 invalid)
  start -c FILE        Start the load balancer (SIGHUP reloads the config, SIGTERM drains and stops)
  user add NAME --role admin|operator|viewer -c FILE
                       Create a user in the state database next to FILE; the password is read
                       from standard input (or asked for on a terminal)
  user list|remove NAME|passwd NAME -c FILE
                       List, remove a user, or set a user's password

Running load balancer, through its admin API (-c FILE for its admin.listen, or --admin URL):
  status               Show every virtual service (its pool, its rules and their hits), every pool
                       (who uses it) and real server: state, health and why, active requests; with
                       GSLB, every FQDN's answers now and each site's health and why
  rs drain|enable|disable POOL ADDRESS
                       Set a real server's state in a pool (a pool's name, or a virtual service's
                       for its pool): drain takes no new clients while the current ones
                       finish (wait for ACTIVE 0 in status before maintenance), disable takes no
                       traffic, enable takes traffic again. The change is written to the config
                       file, so it survives a reload and a restart.
  gslb site enable|disable FQDN SITE
                       Put a GSLB site back into the DNS answers (a site held down for manual
                       recovery, or one disabled) or take it out whatever its checks say. A
                       runtime change: the config file is not written, so a restart starts over.
  config diff FILE     Show what applying FILE would change, or its problems (FILE:LINE: ...)
  config apply FILE    Validate FILE, apply it to every worker and save it; refused (nothing
                       changes) when the config changed since it was read
  config history       The last config versions: id, when, who, from where, what
  config restore ID    Make an earlier version current again (validated and applied)
  token create NAME --role admin|operator|viewer [--expires 30d] [--user NAME]
                       Create an API token (printed once, on stdout); --expires: 90m, 12h, 365d;
                       --user logs in with that user's password (standard input) for a first token
  token list           The tokens (an admin sees everyone's), never their secrets
  token revoke ID      Revoke a token
  backup [-o FILE]     Save the config, users and tokens (hashed) as JSON; -o writes FILE with
                       mode 0600, atomically (default: standard output)
  restore FILE         Put a backup back: the config (validated and applied), users and tokens

Moving off Windows NLB (on this machine; docs/migrating-from-windows-nlb.md):
  nlb ip2mac VIP [--mode unicast|multicast|igmp]
                       The cluster MAC NLB uses for VIP (Windows, Cisco and colon forms) and the
                       IGMP group, as Windows' nlb ip2mac printed them
  nlb switch-config VIP --mode MODE --vendor cisco|dell|hp --vlan N --ports P1,P2
                       The switch lines that make NLB's multicast modes work, and those that
                       remove them after the migration
  nlb import FILE... [--address NODE=IP ...] [--ports LIST]
                       A Fulcrum config from Get-NlbCluster, Get-NlbClusterNode,
                       Get-NlbClusterNodeDip and Get-NlbClusterPortRule output (table, list or
                       JSON), on standard output
  nlb help             The nlb commands in detail

Options:
  -c, --config FILE    Config file (YAML or JSON); see docs/configuration.md
      --admin URL      Admin API of a running fulcrum, e.g. 127.0.0.1:9090 or
                       https://lb1.example.com:9443; default: admin.listen in the -c FILE
                       (https when it has admin.tls)
      --token TOKEN    API token; default: FULCRUM_TOKEN, else ~/.config/fulcrum/token
                       ($XDG_CONFIG_HOME/fulcrum/token; keep it chmod 600). None is needed on a
                       loopback admin API without users
      --ca FILE        CA certificate (PEM) of an https admin listener with a private CA;
                       default: FULCRUM_CA
      --json           API commands, user list: print the JSON answer instead of a table
  -h, --help           Show this help
  -v, --version        Print the version

Exit codes: 0 done, 1 failed (config problems, the API refused or could not be reached), 2 usage.

Examples:
  fulcrum check -c examples/sample.yaml
  fulcrum start -c /etc/fulcrum/fulcrum.yaml
  fulcrum user add alice --role admin -c /etc/fulcrum/fulcrum.yaml < password.txt
  fulcrum status -c /etc/fulcrum/fulcrum.yaml
  fulcrum rs drain web 10.0.0.11:80 --admin 127.0.0.1:9090
  fulcrum gslb site enable www.example.com primary -c /etc/fulcrum/fulcrum.yaml
  (umask 077; fulcrum token create deploy --role operator --expires 90d > ~/.config/fulcrum/token)
  fulcrum config diff new.yaml -c /etc/fulcrum/fulcrum.yaml && fulcrum config apply new.yaml -c /etc/fulcrum/fulcrum.yaml
  fulcrum config history --admin https://lb1.example.com:9443 --ca lb-ca.pem
  fulcrum backup -o fulcrum-backup.json --admin 127.0.0.1:9090
  fulcrum nlb ip2mac 172.31.1.232 --mode multicast
  fulcrum nlb import nlb-*.txt --address WEB3=10.0.0.13 > fulcrum.yaml
`;
