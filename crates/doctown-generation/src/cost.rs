//! What tokens cost: a price table per model, in US dollars per million tokens.

/// A model's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Dollars per million input (prompt) tokens.
    pub input_per_million: f64,
    /// Dollars per million output (completion) tokens.
    pub output_per_million: f64,
}

/// Known prices (OpenAI's list prices for standard processing). A dated model name
/// (`gpt-4o-mini-2024-07-18`) takes its family's price.
const PRICES: &[(&str, Price)] = &[
    (
        "gpt-4o-mini",
        Price {
            input_per_million: 0.15,
            output_per_million: 0.60,
        },
    ),
    (
        "gpt-4o",
        Price {
            input_per_million: 2.50,
            output_per_million: 10.00,
        },
    ),
    (
        "gpt-4.1-nano",
        Price {
            input_per_million: 0.10,
            output_per_million: 0.40,
        },
    ),
    (
        "gpt-4.1-mini",
        Price {
            input_per_million: 0.40,
            output_per_million: 1.60,
        },
    ),
    (
        "gpt-4.1",
        Price {
            input_per_million: 2.00,
            output_per_million: 8.00,
        },
    ),
    (
        "gpt-4-turbo",
        Price {
            input_per_million: 10.00,
            output_per_million: 30.00,
        },
    ),
    (
        "gpt-3.5-turbo",
        Price {
            input_per_million: 0.50,
            output_per_million: 1.50,
        },
    ),
];

impl Price {
    /// The price of `model`, when it is in the table (the longest matching family wins); `None`
    /// for models Doctown has no price for, such as local servers' (their tokens cost nothing).
    pub fn of(model: &str) -> Option<Price> {
        PRICES
            .iter()
            .filter(|(family, _)| {
                model == *family
                    || model.strip_prefix(family).is_some_and(|rest| {
                        rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
                    })
            })
            .max_by_key(|(family, _)| family.len())
            .map(|(_, price)| *price)
    }

    /// What `input` and `output` tokens cost.
    pub fn cost(&self, input: u64, output: u64) -> f64 {
        (input as f64 * self.input_per_million + output as f64 * self.output_per_million) / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt_4o_mini_costs_what_its_list_price_says() {
        let price = Price::of("gpt-4o-mini").unwrap();
        assert_eq!(price.cost(1_000_000, 0), 0.15);
        assert_eq!(price.cost(0, 1_000_000), 0.60);
        assert!((price.cost(2_000, 100) - 0.00036).abs() < 1e-12);
        assert_eq!(Price::of("gpt-4o-mini-2024-07-18"), Some(price));
        assert_eq!(Price::of("gpt-4o").unwrap().input_per_million, 2.50);
        assert_eq!(
            Price::of("gpt-4o-2024-08-06").unwrap().input_per_million,
            2.50
        );
        assert_eq!(Price::of("smollm2"), None);
        assert_eq!(Price::of("gpt-4o-minimal"), None);
    }
}
