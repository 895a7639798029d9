import { z } from '@hono/zod-openapi';

/** What an API key may do. A session (login token) may do everything. */
export const PERMISSIONS = ['apps:read', 'apps:write', 'analytics:read', 'keys:write'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const permissionSchema = z.enum(PERMISSIONS).openapi({ description: 'API key permission' });
