//! Pagination of list endpoints: `?page=2&page_size=20`, pages counted from
//! 1, at most 100 items a page.

use serde::Serialize;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page: 1, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl PageRequest {
    /// From the `page` and `page_size` query values, if given.
    pub fn parse(page: Option<&str>, page_size: Option<&str>) -> Result<Self, ApiError> {
        let number = |field: &str, text: &str, max: u32| -> Result<u32, ApiError> {
            match text.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid_field(field, format!("`{field}` must be a whole number from 1 to {max}; got {text:?}"))),
            }
        };
        Ok(PageRequest {
            page: page.map(|p| number("page", p, u32::MAX)).transpose()?.unwrap_or(1),
            page_size: page_size.map(|s| number("page_size", s, MAX_PAGE_SIZE)).transpose()?.unwrap_or(DEFAULT_PAGE_SIZE),
        })
    }

    /// `LIMIT` and `OFFSET` for SQL.
    pub fn limit_offset(&self) -> (u32, u64) {
        (self.page_size, u64::from(self.page - 1) * u64::from(self.page_size))
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    /// Items on all pages.
    pub total: u64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: u64) -> Self {
        Page { items, page: request.page, page_size: request.page_size, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        assert_eq!(PageRequest::parse(None, None).unwrap(), PageRequest { page: 1, page_size: 20 });
        assert_eq!(PageRequest::parse(Some("3"), Some("100")).unwrap().limit_offset(), (100, 200));
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        for (page, size, field) in [(Some("0"), None, "page"), (None, Some("101"), "page_size"), (Some("x"), None, "page"), (None, Some("-1"), "page_size")] {
            let err = PageRequest::parse(page, size).unwrap_err();
            assert_eq!((err.status, err.details["field"].as_str()), (400, Some(field)));
        }
    }
}
