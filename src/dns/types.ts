/**
 * DNS wire constants and the record shapes the response writer takes. Numbers come from the IANA
 * DNS parameters registry (RFC 1035, 3596, 2782, 6891, 7871).
 */

/** What parseQuery concluded; the writer turns all but DROP into an answer. */
export const QueryVerdict = { OK: 0, DROP: 1, FORMERR: 2, NOTIMP: 3, BADVERS: 4 } as const;
export type QueryVerdict = (typeof QueryVerdict)[keyof typeof QueryVerdict];

/** RCODEs; values above 15 travel in the OPT record's extended RCODE (RFC 6891 section 6.1.3). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

export const RRClass = { IN: 1, CH: 3, ANY: 255 } as const;

/** EDNS option codes. */
export const EdnsOption = { CLIENT_SUBNET: 8 } as const;

/** ECS address families (RFC 7871 section 6: the IANA address family numbers). */
export const EcsFamily = { NONE: 0, IPV4: 1, IPV6: 2 } as const;

/** The UDP payload size Fulcrum advertises: the DNS Flag Day 2020 value, below common path MTUs. */
export const OUR_UDP_PAYLOAD_SIZE = 1232;
/** RFC 6891 section 6.2.5: a requestor's size below 512 counts as 512. */
export const MIN_UDP_PAYLOAD_SIZE = 512;
/** Larger answers are worth TCP rather than fragmented UDP. */
export const MAX_UDP_PAYLOAD_SIZE = 4096;
/** A TCP message carries a 16-bit length. */
export const MAX_MESSAGE_SIZE = 65_535;

export const HEADER_SIZE = 12;
export const MAX_NAME_WIRE_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;

/** Header flag bits (RFC 1035 section 4.1.1, RFC 4035 for AD and CD). */
export const Flag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const;

/**
 * A resource record to write. Names are dotted text without the trailing dot ('' is the root),
 * in any case, in presentation form: a '.' or '\' inside a label is escaped (\., \\, \DDD),
 * which only the SOA RNAME needs (john\.doe.example.com is three labels, the first "john.doe");
 * isValidDnsName says what writeName takes. Addresses and text are wire bytes, parsed once (see
 * records.ts).
 */
export type DnsRecord =
  | { type: 'A'; name: string; ttl: number; address: Uint8Array }
  | { type: 'AAAA'; name: string; ttl: number; address: Uint8Array }
  | { type: 'CNAME' | 'NS' | 'PTR'; name: string; ttl: number; target: string }
  | { type: 'MX'; name: string; ttl: number; preference: number; exchange: string }
  | { type: 'TXT'; name: string; ttl: number; strings: readonly Uint8Array[] }
  | { type: 'SRV'; name: string; ttl: number; priority: number; weight: number; port: number; target: string }
  /** RFC 8659 section 4.1: flags, the tag after a length byte (1-15 letters and digits), the value to the end of the RDATA. */
  | { type: 'CAA'; name: string; ttl: number; flags: number; tag: Uint8Array; value: Uint8Array }
  | {
      type: 'SOA';
      name: string;
      ttl: number;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };

/** The three sections a response carries besides the question (OPT is added by the writer). */
export interface AnswerSections {
  answer: readonly DnsRecord[];
  authority?: readonly DnsRecord[];
  additional?: readonly DnsRecord[];
}
