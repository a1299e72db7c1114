// The networks of the test GeoIP databases: City-like records for IPv4 and IPv6, one nested
// network (198.18.200.0/24 inside 198.18.0.0/16). Shared by the hermetic GeoIP tests and the
// interop check of the writer against libmaxminddb.
import { cityRecord, type MmdbNetwork } from '../helpers/mmdb-writer.ts';

export const NETWORKS: MmdbNetwork[] = [
  { cidr: '198.18.0.0/16', data: cityRecord({ country: 'US', continent: 'NA', lat: 40.7, lon: -74.0, city: 'New York' }) },
  { cidr: '198.18.200.0/24', data: cityRecord({ country: 'NL', continent: 'EU', lat: 52.37, lon: 4.9, city: 'Amsterdam' }) },
  { cidr: '198.19.0.0/16', data: cityRecord({ country: 'BE', continent: 'EU', lat: 50.85, lon: 4.35, city: 'Brussels' }) },
  { cidr: '2001:db8:be::/48', data: cityRecord({ country: 'BE', continent: 'EU', lat: 50.85, lon: 4.35 }) },
  { cidr: '2001:db8:5500::/40', data: cityRecord({ country: 'US', continent: 'NA' }) },
];
