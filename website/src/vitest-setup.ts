// Component tests: jest-dom's matchers (toBeInTheDocument, toHaveTextContent, ...).
import '@testing-library/jest-dom/vitest';
