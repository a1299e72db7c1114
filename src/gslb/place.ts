/**
 * Places as the config writes them, resolved (upper case, continent from the country), and the
 * great-circle distance between two of them.
 */
import { continentOf } from './continents.ts';
import type { Continent, Place } from './types.ts';

export interface PlaceText {
  country?: string | null;
  continent?: string | null;
  lat?: number | null;
  lon?: number | null;
}

/** Mean Earth radius in km (IUGG); the haversine formula's error (<0.5%) cannot change which site is nearer in practice. */
const EARTH_RADIUS_KM = 6371.0088;
const RADIANS = Math.PI / 180;

/** Resolve a written place: codes upper case, a missing continent taken from the country. */
export function resolvePlace(text: PlaceText): Place {
  const country = text.country ? text.country.toUpperCase() : null;
  const continent = text.continent ? (text.continent.toUpperCase() as Continent) : country === null ? null : continentOf(country);
  const hasPoint = typeof text.lat === 'number' && typeof text.lon === 'number';
  return { country, continent, lat: hasPoint ? text.lat! : null, lon: hasPoint ? text.lon! : null };
}

export function hasPoint(place: Place): boolean {
  return place.lat !== null && place.lon !== null;
}

/** Great-circle distance in km (haversine), for points with lat and lon in degrees. */
export function distanceKm(latA: number, lonA: number, latB: number, lonB: number): number {
  const dLat = (latB - latA) * RADIANS;
  const dLon = (lonB - lonA) * RADIANS;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(latA * RADIANS) * Math.cos(latB * RADIANS) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
