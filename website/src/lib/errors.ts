import { ApiError } from './api';
import { DocpackError } from './docpack';

/**
 * What to tell the user about `err`: the message of an error written for people (the API's, the
 * docpack reader's), else the error as it stands.
 */
export function errorMessage(err: unknown): string {
	return err instanceof ApiError || err instanceof DocpackError ? err.message : String(err);
}
