import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import RepoForm from './RepoForm.svelte';

describe('RepoForm', () => {
	afterEach(() => vi.unstubAllGlobals());

	it('names the repository a valid URL points at', async () => {
		render(RepoForm);
		await userEvent.type(
			screen.getByLabelText('GitHub repository URL'),
			'https://github.com/octo/hello/tree/v1'
		);
		expect(screen.getByRole('alert')).toHaveTextContent('octo/hello at v1');
		expect(screen.getByLabelText('GitHub repository URL')).toHaveAttribute('aria-invalid', 'false');
	});

	it('explains an invalid URL once the field is left, and does not submit it', async () => {
		render(RepoForm);
		const input = screen.getByLabelText('GitHub repository URL');
		await userEvent.type(input, 'https://gitlab.com/octo/hello');
		expect(screen.getByRole('alert')).toHaveTextContent('');
		await userEvent.tab();
		expect(screen.getByRole('alert')).toHaveTextContent('is not a GitHub repository URL');
		expect(input).toHaveAttribute('aria-invalid', 'true');
		await userEvent.click(screen.getByRole('button', { name: 'Document it' }));
		expect(screen.getByRole('button', { name: 'Document it' })).toBeEnabled();
	});

	it("shows the backend's message when it refuses the job", async () => {
		// A refusal the real coordinator gives only when its store is down: stubbed here, and the
		// same message path as every other refusal.
		vi.stubGlobal(
			'fetch',
			vi.fn(
				async () =>
					new Response(
						JSON.stringify({
							error: { code: 'unavailable', message: 'the job store cannot be reached; try again' }
						}),
						{ status: 503, headers: { 'content-type': 'application/json' } }
					)
			)
		);
		render(RepoForm);
		await userEvent.type(
			screen.getByLabelText('GitHub repository URL'),
			'https://github.com/octo/hello{Enter}'
		);
		expect(
			await screen.findByText('the job store cannot be reached; try again')
		).toBeInTheDocument();
		expect(screen.getByRole('button', { name: 'Document it' })).toBeEnabled();
	});
});
